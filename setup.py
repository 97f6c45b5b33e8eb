"""Packages of the parole distribution (the rest of the metadata is in pyproject.toml).

The repository keeps `templates/` at its top level; the wheel carries it as `dialogs/templates`, the
package data `dialogs.catalog.default_templates_dir()` finds in an installed parole. pyproject.toml
cannot both discover the packages and add that mapped one, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot*", "dialogs*", "nlp*", "emulator*", "whatsapp_emulator*"]), "dialogs.templates"],
    package_dir={"dialogs.templates": "templates"},
)
