class DynamicPrompt:
    def __init__(self, original_prompt):
        self.original_prompt = original_prompt
