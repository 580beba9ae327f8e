class GraphBuilder:
    _default_prefix_root = ""
    _default_prefix_call_index = 0
    _default_prefix_graph_index = 0

    def __init__(self, prefix=None):
        self.prefix = GraphBuilder.alloc_prefix() if prefix is None else prefix

    @classmethod
    def set_default_prefix(cls, prefix_root, call_index, graph_index=0):
        cls._default_prefix_root = prefix_root
        cls._default_prefix_call_index = call_index
        cls._default_prefix_graph_index = graph_index

    @classmethod
    def alloc_prefix(cls, root=None, call_index=None, graph_index=None):
        root = GraphBuilder._default_prefix_root if root is None else root
        call_index = GraphBuilder._default_prefix_call_index if call_index is None else call_index
        graph_index = GraphBuilder._default_prefix_graph_index if graph_index is None else graph_index
        GraphBuilder._default_prefix_graph_index += 1
        return f"{root}.{call_index}.{graph_index}."
