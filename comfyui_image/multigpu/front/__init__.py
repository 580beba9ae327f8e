"""Process mode's front: our scheduler in front of one stock ComfyUI process per GPU."""
