"""The closed lists of the form that the stored record keeps as they are."""

from __future__ import annotations

from enum import StrEnum


class BestTime(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    ANYTIME = "anytime"


class Interest(StrEnum):
    FRACTIONAL_CO2_LASER = "fractional-co2-laser"
    WRINKLES_FINE_LINES = "wrinkles-fine-lines"
    SUN_SPOTS_DISCOLORATION = "sun-spots-discoloration"
    SCARS_BURNS = "scars-burns"
    STRETCH_MARKS = "stretch-marks"
    OTHER = "other"
