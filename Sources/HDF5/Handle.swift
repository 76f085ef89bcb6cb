internal import CHDF5

/// Owns one HDF5 identifier and closes it exactly once (explicitly or from `deinit`).
final class Handle {
    private(set) var id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    var isOpen: Bool { id >= 0 }

    /// Closes the identifier; later calls do nothing.
    func close() -> herr_t {
        guard id >= 0 else { return 0 }
        Library.prepare()
        let rc = closer(id)
        id = -1
        return rc
    }

    deinit { _ = close() }
}

/// Text of a null-terminated C buffer, as UTF-8.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
