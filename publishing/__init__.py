"""Publishing engine: renders the Quarto book with Quarto or the built-in engine."""
