import Testing

@Test func placeholderDatasets() { #expect(Bool(true)) }
