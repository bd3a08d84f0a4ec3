"""Stand-in for the parts of LiteLLM (v1.74.9-stable) that oh_llm_gateway.py imports. LiteLLM and its image cannot be
installed here (no registry for it); these classes keep the constructor signatures and attributes of the originals
(litellm/proxy/_types.py, litellm/integrations/custom_logger.py) that the hook relies on, and nothing else."""
