/// The `HDF5` module.
public enum HDF5Module {}
