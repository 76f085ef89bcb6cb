import Foundation

/// The float storage of a ``FeatureMap``: a copy-on-write buffer drawn from, and given back
/// to, the process's ``BufferPool``.
///
/// A forward pass at a fixed size asks for the same buffer sizes in the same order every
/// frame, so after the first frame every op output, qkv block and im2col band is a buffer
/// the pool already holds: no allocation, no page fault and no zero fill per op.
public struct TensorBuffer: Sendable {
    // Invariant for @unchecked Sendable: the memory is written only through a uniquely
    // referenced storage (copy on write, `makeUnique`), or by callers that split one unique
    // buffer into disjoint ranges for the duration of a call.
    final class Storage: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let count: Int
        /// Floats allocated at `allocation` (at least `headroom + count`).
        let capacity: Int
        /// Floats reserved before `base` (for a header written in front of the values).
        let headroom: Int
        /// The pool's block (`base - headroom`); nil for adopted memory.
        let allocation: UnsafeMutablePointer<Float>?
        /// Keeps adopted memory alive.
        let owner: (AnyObject & Sendable)?
        init(count: Int, headroom: Int = 0) {
            self.count = count
            self.headroom = headroom
            let (block, capacity) = BufferPool.shared.take(headroom + count)
            (allocation, self.capacity, base, owner) = (block, capacity, block + headroom, nil)
        }
        init(adopting base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject & Sendable) {
            (self.base, self.count, capacity, headroom, allocation, self.owner) = (base, count, count, 0, nil, owner)
        }
        deinit { if let allocation { BufferPool.shared.give(allocation, capacity: capacity) } }
    }

    private var storage: Storage

    /// `count` values left unspecified, for buffers every element of which is written before
    /// it is read (a Float has no invalid bit pattern).
    public init(uninitialized count: Int) {
        storage = Storage(count: count)
    }

    /// `count` values left unspecified, with room for a header of up to `headroomBytes` (at
    /// most 64) right before them: ``lentBytes(prefix:)`` then hands out header and values as one
    /// contiguous region (a wire message part sent without a copy). The values stay 64-byte
    /// aligned.
    public init(uninitialized count: Int, headroomBytes: Int) {
        precondition((0...64).contains(headroomBytes), "TensorBuffer: headroom \(headroomBytes) bytes is not 0...64")
        storage = Storage(count: count, headroom: headroomBytes == 0 ? 0 : 16)
    }

    /// A buffer over `count` floats at `base` that someone else allocated (e.g. a received
    /// message's bytes), kept alive by holding `owner`: no copy. The memory must not be used
    /// by anyone else while `owner` lives; changing the buffer writes to it in place when this
    /// value is its only user, as for any buffer.
    public init(adopting base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject & Sendable) {
        storage = Storage(adopting: base, count: count, owner: owner)
    }

    /// `header` written into the headroom right before the values (see
    /// ``init(uninitialized:headroomBytes:)``), and the region of header and values with the
    /// storage that keeps it alive; nil when the storage has less headroom than `header`
    /// (e.g. after a copy on write). The header lies outside the values, so writing it changes
    /// nothing a reader of this buffer sees; the region must only be read, for as long as
    /// `owner` is held.
    public func lentBytes(prefix header: [UInt8]) -> (region: UnsafeRawBufferPointer, owner: AnyObject & Sendable)? {
        guard header.count <= storage.headroom * 4 else { return nil }
        let start = UnsafeMutableRawPointer(storage.base) - header.count
        header.withUnsafeBytes { if let h = $0.baseAddress { start.copyMemory(from: h, byteCount: $0.count) } }
        return (UnsafeRawBufferPointer(start: start, count: header.count + storage.count * 4), storage)
    }

    /// `count` copies of `value`.
    public init(repeating value: Float, count: Int) {
        storage = Storage(count: count)
        storage.base.initialize(repeating: value, count: count)
    }

    /// A copy of `values`.
    public init(_ values: [Float]) {
        storage = Storage(count: values.count)
        values.withUnsafeBufferPointer { v in
            if let from = v.baseAddress { storage.base.initialize(from: from, count: v.count) }
        }
    }

    /// The values as an array (a copy).
    public var array: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Calls `body` with the values.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    /// Calls `body` with the values to change (after copying them if they are shared).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        var buffer = UnsafeMutableBufferPointer(start: storage.base, count: storage.count)
        return try body(&buffer)
    }

    /// Whether this value is the only one using its storage (so that changing it copies
    /// nothing).
    public mutating func isUniquelyReferenced() -> Bool { isKnownUniquelyReferenced(&storage) }

    private mutating func makeUnique() {
        if isKnownUniquelyReferenced(&storage) { return }
        let copy = Storage(count: storage.count)
        copy.base.initialize(from: storage.base, count: storage.count)
        storage = copy
    }
}

extension TensorBuffer: RandomAccessCollection, MutableCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    public subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < storage.count, "TensorBuffer index \(i) out of range 0..<\(storage.count)")
            return storage.base[i]
        }
        set {
            precondition(i >= 0 && i < storage.count, "TensorBuffer index \(i) out of range 0..<\(storage.count)")
            makeUnique()
            storage.base[i] = newValue
        }
    }
}

extension TensorBuffer: Equatable {
    public static func == (a: TensorBuffer, b: TensorBuffer) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.elementsEqual(y) } }
    }
}

/// Recycles tensor buffers, so a model that runs frame after frame at one size draws its
/// memory once.
///
/// A request takes the smallest free buffer that holds it and is at most four times its size (so
/// a freed qkv block can hold the next op's output), else a new one of exactly its size.
/// Free buffers are kept up to ``limitBytes`` in all; beyond that a returned buffer goes back
/// to the system allocator. The default limit is 4 GiB, or `SPKDEBLUR_POOL_MIB` mebibytes.
public final class BufferPool: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every mutable property is read and written with
    // `lock` held.
    /// The pool every ``TensorBuffer`` uses.
    public static let shared = BufferPool()

    /// Usage counters.
    public struct Statistics: Sendable, Equatable {
        /// Buffers obtained from the system allocator.
        public var allocations = 0
        /// Buffers handed out again from the pool.
        public var reuses = 0
        /// Bytes held by free buffers now.
        public var pooledBytes = 0
        /// Bytes of buffers in use now (handed out and not yet returned).
        public var liveBytes = 0
        /// The most bytes in use at once.
        public var peakLiveBytes = 0
    }

    /// The most bytes of free buffers kept.
    public let limitBytes: Int
    private let lock = NSLock()
    /// Free buffers, ascending by capacity (in floats).
    private var free: [(capacity: Int, base: UnsafeMutablePointer<Float>)] = []
    private var stats = Statistics()

    init() {
        let mib = ProcessInfo.processInfo.environment["SPKDEBLUR_POOL_MIB"].flatMap { Int($0) }
        limitBytes = max(0, mib ?? 4096) << 20
    }

    /// The counters so far.
    public var statistics: Statistics { lock.withLock { stats } }

    /// Resets the peak to the current use (for measuring one pass).
    public func resetPeak() { lock.withLock { stats.peakLiveBytes = stats.liveBytes } }

    func take(_ count: Int) -> (UnsafeMutablePointer<Float>, capacity: Int) {
        let reused: (UnsafeMutablePointer<Float>, capacity: Int)? = lock.withLock {
            let found = free.firstIndex { $0.capacity >= count }.flatMap { i in
                free[i].capacity <= 4 * max(count, 16) ? i : nil
            }
            let capacity = found.map { free[$0].capacity } ?? max(count, 16)
            stats.liveBytes += capacity * 4
            stats.peakLiveBytes = max(stats.peakLiveBytes, stats.liveBytes)
            guard let i = found else {
                stats.allocations += 1
                return nil
            }
            stats.reuses += 1
            stats.pooledBytes -= capacity * 4
            return (free.remove(at: i).base, capacity)
        }
        if let reused { return reused }
        let capacity = max(count, 16)
        // 64-byte alignment: whole cache lines and aligned AVX-512 vectors.
        let p = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        return (p.bindMemory(to: Float.self, capacity: capacity), capacity)
    }

    func give(_ p: UnsafeMutablePointer<Float>, capacity: Int) {
        let kept: Bool = lock.withLock {
            stats.liveBytes -= capacity * 4
            guard stats.pooledBytes + capacity * 4 <= limitBytes else { return false }
            let at = free.firstIndex { $0.capacity >= capacity } ?? free.endIndex
            free.insert((capacity, p), at: at)
            stats.pooledBytes += capacity * 4
            return true
        }
        if !kept { p.deallocate() }
    }

    /// Gives every free buffer back to the system allocator.
    public func drain() {
        let all: [UnsafeMutablePointer<Float>] = lock.withLock {
            let all = free.map(\.base)
            free = []
            stats.pooledBytes = 0
            return all
        }
        for p in all { p.deallocate() }
    }
}

extension TensorBuffer: ExpressibleByArrayLiteral {
    public init(arrayLiteral values: Float...) { self.init(values) }
}
