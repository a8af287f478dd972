"""Everything the command line prints, through rich: the plan before training, progress, results,
warnings and errors in plain words. What needs torch (the engine's names) is imported where it is
used, so the command line starts at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SheetDLError

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID
    from rich.text import Text

__all__ = ["Console"]


class Console:
    """Everything the CLI prints, through rich; ``quiet`` keeps only results and errors.

    Headers, cell values, sheet and file names and the messages that quote them are the user's text,
    and ``Weight [kg]`` or ``Note [/b]`` are ordinary headers: both consoles are made with markup (and
    emoji codes) off, so any string printed is shown as written. Our own styling is added only with
    :func:`_styled`, which never parses the user's part.
    """

    def __init__(self, *, quiet: bool):
        from rich.console import Console

        self.quiet = quiet
        self.out = Console(highlight=False, markup=False, emoji=False)
        self.err = Console(stderr=True, highlight=False, markup=False, emoji=False)
        self._progress: Bar | None = None
        self._task: TaskID | None = None

    def say(self, text: str, *, soft_wrap: bool = False) -> None:
        """``soft_wrap``: one long line left to the terminal to wrap (a path stays whole to copy)."""
        if not self.quiet:
            self.out.print(_plain(text), soft_wrap=soft_wrap)

    def line(self, text: str) -> None:
        """A result line, printed even when quiet."""
        self.out.print(_plain(text))

    def status(self, text: str) -> None:
        self.stop_progress()
        self.say(text)

    def warn(self, text: str) -> None:
        self.err.print(_styled(("Warning:", "yellow"), " ", text))

    def error(self, text: str) -> None:
        self.err.print(_styled(("Error:", "bold red"), " ", text))

    def user_error(self, e: SheetDLError) -> None:
        self.error(e.message)
        if e.hint:
            self.err.print(_styled(("What to do:", "yellow"), " ", e.hint))

    def show_plan(self, source, table, schema, settings) -> None:
        if self.quiet:
            return
        from rich.table import Table as RichTable

        labelled = int(table.values[schema.target].notna().sum()) if schema.target in table.values else 0
        self.out.print(_styled((source.name, "bold"),
                               f" · sheet '{table.sheet}' · {table.n_rows:,} rows "
                               f"({labelled:,} with '{schema.target}' filled, {table.n_rows - labelled:,} to predict)"))
        self.out.print(_plain(f"Task: {schema.task_reason}"))
        t = RichTable(show_header=True, header_style="bold", box=None, pad_edge=False)
        t.add_column("Column")
        t.add_column("Kind")
        t.add_column("How it is used")
        for c in schema.columns:
            style = "dim" if c.role == "ignored" else ""
            t.add_row(_plain(c.name), _plain(c.kind), _plain(c.reason), style=style)
        self.out.print(t)
        for n in table.notes:
            self.out.print(_styled((f"· {n}", "dim")))

    def progress(self, p) -> None:
        if self.quiet:
            return
        from rich.progress import BarColumn, Progress, TextColumn

        bar, task = self._progress, self._task
        if bar is None or task is None:  # the description can name a column: shown as written
            bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                           TextColumn("{task.fields[info]}", markup=False),
                           console=self.out, transient=True)
            bar.start()
            task = bar.add_task("Training", total=1.0, info="")
            self._progress, self._task = bar, task
        if p.stage == "training":
            score = f"validation {'accuracy' if p.valid_score is not None and p.valid_score <= 1 else 'score'} " \
                    f"{p.valid_score:.1%}" if p.valid_score is not None else ""
            left = f" · about {p.remaining:.0f} s left" if p.remaining is not None else ""
            bar.update(task, completed=p.fraction, description=f"Fold {p.fold}/{p.n_folds}",
                       info=f"epoch {p.epoch} · {score}{left}")
        elif p.stage == "pictures":  # the bar shows the pictures read
            bar.update(task, completed=p.stage_fraction, description=p.message, info="")
        else:
            bar.update(task, completed=1.0, description=p.message or p.stage, info="")

    def stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def done_train(self, results, table, output, model_path, lost) -> None:
        from ..encode import PICTURE_NOTE
        from ..report import summary_sentences

        for line in summary_sentences(results, table):
            self.line(line)
        if results.importance:
            top = ", ".join(i.column for i in results.importance[:3] if i.drop > 0)
            if top:
                self.line(f"Columns that mattered most: {top}.")
        self._not_carried_over(lost)
        for note in results.notes:  # how pictures were read decides much of what to expect
            if note.startswith(PICTURE_NOTE):
                self.out.print(_styled((note, "yellow")))
        self.out.print(_styled("Results: ", (str(output), "bold")))
        self.line(f"Model:   {model_path}  (use it with: sheetdl predict OTHER.xlsx --model \"{model_path}\")")

    def done_predict(self, results, output, lost) -> None:
        self._not_carried_over(lost)
        self.out.print(_styled(f"Predicted {len(results.prediction):,} rows. Results: ", (str(output), "bold")))

    def _not_carried_over(self, lost) -> None:
        for item in lost:
            self.out.print(_styled(("Not carried over into the copy:", "yellow"), " ", item))

    def explain(self, model) -> None:
        from rich.table import Table as RichTable

        from ..engine import METRIC_NAMES

        self.out.print(_styled("Model predicting '", (str(model.target), "bold"), f"' ({model.schema.task_reason})"))
        t = RichTable("Score on held-out rows", "Model", "Naive baseline", box=None)
        for k, v in model.metrics.items():
            t.add_row(_plain(METRIC_NAMES.get(k, k)), f"{v:.4g}", f"{model.baseline.get(k, float('nan')):.4g}")
        self.out.print(t)
        t = RichTable("Column", "Importance", "±", box=None)
        for i in model.importances:
            t.add_row(_plain(i.column), f"{i.drop:.3f}", f"{i.spread:.3f}")
        self.out.print(t)
        for k, v in model.settings.items():
            self.line(f"{k}: {v}")


def _plain(text) -> Text:
    """The user's text (or a message quoting it) as rich shows it: literally."""
    from rich.text import Text

    return Text(str(text))


def _styled(*parts) -> Text:
    """A line of plain strings and ``(text, style)`` pairs; only the style names are ours to interpret,
    the text of every part is shown as written."""
    from rich.text import Text

    return Text.assemble(*((str(p[0]), p[1]) if isinstance(p, tuple) else str(p) for p in parts))
