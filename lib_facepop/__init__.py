"""FacePop: every face in an img2img job found, processed upright at full size, and
blended back. This package is the core; it runs without the WebUI."""

__version__ = "0.1.0"
