import Testing

@Test func placeholderStages() { #expect(Bool(true)) }
