/// The software version recorded into outputs and printed by `spkdeblur --version`.
public enum SoftwareVersion {
    public static let string = "spkdeblur 0.1.0"
}
