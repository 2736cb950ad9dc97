"""Wire models: exactly the shapes of the Inkeep Analytics API, and nowhere else."""
