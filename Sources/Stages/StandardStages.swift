import Checkpoint
import Foundation
import Pipeline

/// The software version recorded into outputs and printed by `spkdeblur --version`.
public enum SoftwareVersion {
    public static let string = "spkdeblur 0.1.0"
}

enum StateDictSHA {
    static func of(_ path: String) throws -> String { try StateDict.sha256(of: URL(fileURLWithPath: path)) }
}

/// The stage kinds of spkdeblur.
public enum StandardStages {
    /// Every built-in kind.
    public static func registry() -> StageRegistry {
        var r = StageRegistry()
        for kind in [
            SpikeFileSource.kind, RGBFolderSource.kind, ExposureWindowStage.kind, RGBSyncStage.kind,
            DeblurStage.kind, DeblurStage.passthroughKind, HDF5SinkStage.kind,
            ZMQSpikeSource.kind, ZMQRGBSource.kind, ZMQPublishSink.kind,
        ] {
            r.register(kind)
        }
        return r
    }
}
