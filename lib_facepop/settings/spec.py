"""What one option is (``OptionSpec``): everything a UI, a schema or a validator needs to
know about it. The options themselves are in model.py."""

from __future__ import annotations

from dataclasses import dataclass

INFOTEXT_PREFIX = "FacePop"

Value = bool | int | float | str


@dataclass(frozen=True)
class OptionSpec:
    """What one option is: everything a UI, a schema or a validator needs to know."""

    name: str
    kind: type
    default: Value
    label: str
    help: str
    group: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    choice_labels: tuple[str, ...] | None = None
    """What the panel shows for each of ``choices``, in the same order."""
    multiline: bool = False
    pattern: str | None = None
    """A regular expression text must match as a whole, and what that means in words."""
    pattern_meaning: str | None = None

    @property
    def infotext_key(self) -> str:
        return f"{INFOTEXT_PREFIX} {self.name.replace('_', ' ')}"

    def label_of(self, value: Value) -> str:
        """The panel's label for a choice (the value itself where there are no labels)."""
        if self.choices is None or self.choice_labels is None or value not in self.choices:
            return str(value)
        return self.choice_labels[self.choices.index(value)]
