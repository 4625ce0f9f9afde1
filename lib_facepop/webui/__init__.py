"""The WebUI adapter: the only part of FacePop that imports the WebUI (``modules.*``) or
gradio. It turns WebUI objects into the core's plain data and the results back."""
