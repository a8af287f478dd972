"""Networks (plain ``nn.Module``s) and the thin Lightning wrappers that train them."""
