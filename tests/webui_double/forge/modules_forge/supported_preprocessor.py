"""Stands in for modules_forge/supported_preprocessor.py (Forge main): the Preprocessor
base class with Forge's attributes and defaults (name, tags, slider_resolution,
corp_image_with_a1111_mask_when_in_img2img_inpaint_tab = True: "the picture is pixel
aligned with the generation, crop it like an "Only masked" inpaint", do_not_need_model,
...), PreprocessorNone ("None") and PreprocessorCanny ("canny", tag Canny), registered
at import as in Forge, and PreprocessorClipVision (the IP-Adapter and Revision base: no
resolution slider, not cropped with the inpaint mask).

What a preprocessor makes here (not Forge's models): __call__ returns the input picture
(a picture-like map) and process_before_every_sampling(process, cond, mask, **kwargs)
returns cond and mask unchanged; ClipVision preprocessors return a dict holding the
picture, as Forge's return a dict of embeddings.
"""

from modules_forge.shared import add_supported_preprocessor


class PreprocessorParameter:
    def __init__(self, minimum=0.0, maximum=1.0, step=0.01, label="Parameter 1", value=0.5,
                 visible=False, **kwargs):
        self.gradio_update_kwargs = dict(minimum=minimum, maximum=maximum, step=step,
                                         label=label, value=value, visible=visible, **kwargs)


class Preprocessor:
    def __init__(self):
        self.name = "PreprocessorBase"
        self.tags = []
        self.model_filename_filters = []
        self.slider_resolution = PreprocessorParameter(label="Resolution", minimum=128,
                                                       maximum=2048, value=512, step=8,
                                                       visible=True)
        self.slider_1 = PreprocessorParameter()
        self.slider_2 = PreprocessorParameter()
        self.show_control_mode = True
        self.do_not_need_model = False
        self.sorting_priority = 0
        self.corp_image_with_a1111_mask_when_in_img2img_inpaint_tab = True
        self.fill_mask_with_one_when_resize_and_fill = False
        self.use_soft_projection_in_hr_fix = False
        self.expand_mask_when_resize_and_fill = False

    def process_after_running_preprocessors(self, process, params, *args, **kwargs):
        return

    def process_before_every_sampling(self, process, cond, mask, *args, **kwargs):
        return cond, mask

    def process_after_every_sampling(self, process, params, *args, **kwargs):
        return

    def __call__(self, input_image, resolution, slider_1=None, slider_2=None, slider_3=None,
                 input_mask=None, **kwargs):
        return input_image


class PreprocessorNone(Preprocessor):
    def __init__(self):
        super().__init__()
        self.name = "None"
        self.sorting_priority = 10


class PreprocessorCanny(Preprocessor):
    def __init__(self):
        super().__init__()
        self.name = "canny"
        self.tags = ["Canny"]
        self.model_filename_filters = ["canny"]
        self.sorting_priority = 100
        self.use_soft_projection_in_hr_fix = True


add_supported_preprocessor(PreprocessorNone())
add_supported_preprocessor(PreprocessorCanny())


class PreprocessorClipVision(Preprocessor):
    def __init__(self, name, url, filename):
        super().__init__()
        self.name, self.url, self.filename = name, url, filename
        self.slider_resolution = PreprocessorParameter(visible=False)
        self.corp_image_with_a1111_mask_when_in_img2img_inpaint_tab = False
        self.show_control_mode = False
        self.sorting_priority = 1

    def __call__(self, input_image, resolution, slider_1=None, slider_2=None, slider_3=None,
                 **kwargs):
        return {"clip_vision": None, "image": input_image}
