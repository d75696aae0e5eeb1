"""Application services behind the agent REST API: the rules live here, controllers only translate HTTP."""
