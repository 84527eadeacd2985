/// Accuracy of intent recognition on labelled sentences.
package struct IntentEvaluation: Sendable, Encodable {
    package struct Confusion: Sendable, Encodable {
        package var text: String
        package var expected: String
        package var predicted: String
    }

    package private(set) var total = 0
    package private(set) var correct = 0
    /// Per expected intent: (cases, correct).
    package private(set) var perIntent: [String: (total: Int, correct: Int)] = [:]
    package private(set) var confusions: [Confusion] = []
    private var predictedNone = 0
    private var correctNone = 0
    private var expectedNone = 0

    /// Runs `predict` on every case.
    package init(cases: [(text: String, intent: String)], predict: (String) -> String) {
        for (text, expected) in cases {
            let predicted = predict(text)
            total += 1
            perIntent[expected, default: (0, 0)].total += 1
            if predicted == expected {
                correct += 1
                perIntent[expected]!.correct += 1
            } else {
                confusions.append(Confusion(text: text, expected: expected, predicted: predicted))
            }
            if predicted == IntentClassifier.none { predictedNone += 1 }
            if expected == IntentClassifier.none { expectedNone += 1 }
            if predicted == IntentClassifier.none && expected == IntentClassifier.none { correctNone += 1 }
        }
    }

    package var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// Of the sentences classified `none`, the share that really were.
    package var nonePrecision: Double { predictedNone == 0 ? 1 : Double(correctNone) / Double(predictedNone) }
    /// Of the sentences that are `none`, the share classified so.
    package var noneRecall: Double { expectedNone == 0 ? 1 : Double(correctNone) / Double(expectedNone) }

    enum CodingKeys: String, CodingKey {
        case total, accuracy, confusions
        case nonePrecision = "none_precision"
        case noneRecall = "none_recall"
        case perIntent = "per_intent"
    }

    struct IntentCounts: Encodable {
        var total: Int
        var correct: Int
        var accuracy: Double
    }

    /// The `intents eval --json` contract of DESIGN.md; rates rounded to 0.001.
    package func encode(to encoder: any Encoder) throws {
        func r(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(total, forKey: .total)
        try container.encode(r(accuracy), forKey: .accuracy)
        try container.encode(r(nonePrecision), forKey: .nonePrecision)
        try container.encode(r(noneRecall), forKey: .noneRecall)
        try container.encode(
            perIntent.mapValues {
                IntentCounts(total: $0.total, correct: $0.correct, accuracy: r(Double($0.correct) / Double($0.total)))
            }, forKey: .perIntent)
        try container.encode(confusions, forKey: .confusions)
    }

    /// A table a non-developer can read: per intent, how many sentences were recognised, then
    /// the sentences taken for another intent.
    package var summary: String {
        func percent(_ part: Int, _ whole: Int) -> String {
            whole == 0 ? "—" : "\(Int((Double(part) / Double(whole) * 100).rounded())) %"
        }
        var lines = [
            "Intent recognition: \(correct) of \(total) sentences right (\(percent(correct, total)))",
            "Out-of-scope questions (none): \(correctNone) of \(expectedNone) noticed; \(predictedNone - correctNone) in-scope sentences wrongly taken as out of scope",
            "",
            "intent".rightPadded(22) + "sentences  right  share  most often taken for",
        ]
        for (intent, counts) in perIntent.sorted(by: { $0.key < $1.key }) {
            let mistaken =
                Dictionary(grouping: confusions.filter { $0.expected == intent }, by: \.predicted)
                .max { $0.value.count < $1.value.count }
                .map { "\($0.key) (\($0.value.count))" } ?? ""
            lines.append(
                intent.rightPadded(22)
                    + String(counts.total).leftPadded(9) + String(counts.correct).leftPadded(7)
                    + percent(counts.correct, counts.total).leftPadded(7) + "  " + mistaken)
        }
        if !confusions.isEmpty {
            lines.append("")
            lines.append("Sentences taken for another intent (expected → understood):")
            for c in confusions { lines.append("  \(c.expected) → \(c.predicted): \(c.text)") }
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func rightPadded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }

    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
