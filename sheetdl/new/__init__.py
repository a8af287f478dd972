"""New workbooks that start a task: the templates (``templates``), a workbook made from a folder of
pictures (``from_folder``), and the ``sheetdl new`` command that offers both (``command``).

Imports only openpyxl, the settings and the schema's picture extensions: ``sheetdl new`` starts
without torch.
"""

from .command import cmd_new
from .from_folder import (
    IMAGE_COLUMN,
    LABEL_COLUMN,
    ImageFolder,
    ImageWorkbook,
    cmd_new_images,
    make_image_workbook,
    scan_image_folder,
)
from .templates import (
    IMAGE_RESULTS,
    IMAGE_TIPS,
    TEMPLATES,
    TEXT_WIDTH,
    copy_template,
    find_template,
    list_templates,
    row_height,
    settings_validation,
    templates_folder,
)

__all__ = [
    "cmd_new",
    "TEMPLATES",
    "templates_folder",
    "list_templates",
    "find_template",
    "copy_template",
    "IMAGE_RESULTS",
    "IMAGE_TIPS",
    "TEXT_WIDTH",
    "row_height",
    "settings_validation",
    "ImageFolder",
    "ImageWorkbook",
    "scan_image_folder",
    "make_image_workbook",
    "cmd_new_images",
    "IMAGE_COLUMN",
    "LABEL_COLUMN",
]
