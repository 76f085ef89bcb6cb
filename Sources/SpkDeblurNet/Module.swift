/// The `SpkDeblurNet` module.
public enum SpkDeblurNetModule {}
