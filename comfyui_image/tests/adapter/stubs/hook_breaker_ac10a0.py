restored = []


def restore_functions():
    restored.append(True)
