"""One module per channel behind one interface (base.Channel), looked up in registry."""
