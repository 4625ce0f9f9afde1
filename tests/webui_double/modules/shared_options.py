"""Stands in for modules/shared_options.py (A1111 v1.10.1): the settings the double reads,
with the host's keys, defaults and infotext labels (output folders under data_path, where
the host's defaults point too). The several hundred others are left out; extensions add
theirs with shared.opts.add_option() in on_ui_settings callbacks.
"""

import os

from modules.options import OptionInfo
from modules.paths_internal import default_output_dir

_DEFAULTS = {
    # saving images and grids
    "samples_save": True, "samples_format": "png", "samples_filename_pattern": "",
    "save_images_add_number": True, "save_images_replace_action": "Replace", "grid_save": True,
    "grid_format": "png", "grid_extended_filename": False, "grid_only_if_multiple": True,
    "img_max_size_mp": 200,
    "grid_prevent_empty_spots": False, "grid_background_color": "#ffffff", "n_rows": -1,
    "enable_pnginfo": True, "save_txt": False, "jpeg_quality": 80, "save_init_img": False,
    "save_mask": False, "save_mask_composite": False, "return_mask": False,
    "return_mask_composite": False, "return_grid": True, "save_incomplete_images": False,
    "save_images_before_face_restoration": False, "save_images_before_highres_fix": False,
    "save_images_before_color_correction": False,
    "do_not_show_images": False, "samples_log_stdout": False, "save_to_dirs": True,
    "grid_save_to_dirs": True, "directories_filename_pattern": "[date]",
    "directories_max_prompt_words": 8, "outdir_samples": "", "outdir_grids": "",
    # img2img
    "img2img_background_color": "#ffffff", "img2img_color_correction": False,
    "overlay_inpaint": True, "upscaler_for_img2img": None,
    "img2img_batch_show_results_limit": 32, "list_hidden_files": True,
    # upscaling
    "ESRGAN_tile": 192, "ESRGAN_tile_overlap": 8,
    "realesrgan_enabled_models": ["R-ESRGAN 4x+", "R-ESRGAN 4x+ Anime6B"],
    # optimizations, prompts
    "token_merging_ratio_img2img": 0.0, "enable_prompt_comments": True,
    # infotext
    "add_model_hash_to_info": True, "add_model_name_to_info": True,
    "add_user_name_to_info": False, "add_version_to_infotext": True,
    "infotext_skip_pasting": [], "infotext_styles": "Apply if any",
    "disable_weights_auto_swap": True,
    # user interface, extensions
    "samplers_in_dropdown": True, "hide_samplers": [], "ui_reorder_list": [],
    "face_restoration_model": "CodeFormer", "code_former_weight": 0.5,
    "enable_console_prompts": False,
    "disable_all_extensions": "none", "disabled_extensions": [],
}
_DEFAULTS.update({key: os.path.join(default_output_dir, folder) for key, folder in (
    ("outdir_txt2img_samples", "txt2img-images"), ("outdir_img2img_samples", "img2img-images"),
    ("outdir_txt2img_grids", "txt2img-grids"), ("outdir_img2img_grids", "img2img-grids"),
    ("outdir_init_images", "init-images"))})

_WITH_INFOTEXT = {  # key: (default, infotext label)
    "sd_model_checkpoint": (None, "Model hash"), "CLIP_stop_at_last_layers": (1, "Clip skip"),
    "eta_noise_seed_delta": (0, "ENSD"), "randn_source": ("GPU", "RNG"),
    "face_restoration": (False, "Face restoration"), "tiling": (False, "Tiling"),
    "sd_vae_encode_method": ("Full", "VAE Encoder"),
    "sd_vae_decode_method": ("Full", "VAE Decoder"),
    "inpainting_mask_weight": (1.0, "Conditional mask weight"),
    "initial_noise_multiplier": (1.0, "Noise multiplier"),
    "refiner_switch_by_sample_steps": (False, "Refiner switch by sampling steps"),
    "token_merging_ratio": (0.0, "Token merging ratio"),
    "token_merging_ratio_hr": (0.0, "Token merging ratio hr"),
}

options_templates = {key: OptionInfo(value) for key, value in _DEFAULTS.items()}
options_templates.update({key: OptionInfo(default, infotext=label)
                          for key, (default, label) in _WITH_INFOTEXT.items()})
restricted_opts = {key for key in options_templates if key.startswith("outdir_")} | {
    "samples_filename_pattern", "directories_filename_pattern"}
