"""Options, policy config, and the graph that composes the stages."""
