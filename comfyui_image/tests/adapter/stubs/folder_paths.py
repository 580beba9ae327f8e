import os


def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
    full_output_folder = os.path.join(output_dir, os.path.dirname(filename_prefix))
    filename = os.path.basename(filename_prefix)
    counters = [int(name[len(filename) + 1:].split("_")[0]) for name in os.listdir(full_output_folder)
                if name.startswith(filename + "_")]
    counter = max(counters, default=0) + 1
    return full_output_folder, filename, counter, os.path.dirname(filename_prefix), filename_prefix
