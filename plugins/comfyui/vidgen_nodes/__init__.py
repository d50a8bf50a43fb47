"""vidgen's ComfyUI nodes: copy this folder into ComfyUI/custom_nodes/ (vidgen installed in ComfyUI's Python)."""

from vidgen.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
