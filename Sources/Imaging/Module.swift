/// The `Imaging` module.
public enum ImagingModule {}
