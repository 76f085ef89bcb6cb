import Testing

@Test func placeholderSpikeCore() { #expect(Bool(true)) }
