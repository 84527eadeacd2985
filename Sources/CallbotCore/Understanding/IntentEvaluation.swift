/// Accuracy of intent recognition on labelled sentences.
package struct IntentEvaluation: Sendable {
    package struct Confusion: Sendable {
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

    package var json: JSONValue {
        func r(_ v: Double) -> JSONValue { .double((v * 1000).rounded() / 1000) }
        return .object([
            "total": .int(total), "accuracy": r(accuracy), "none_precision": r(nonePrecision),
            "none_recall": r(noneRecall),
            "per_intent": .object(
                perIntent.mapValues {
                    .object([
                        "total": .int($0.total), "correct": .int($0.correct),
                        "accuracy": r(Double($0.correct) / Double($0.total)),
                    ])
                }),
            "confusions": .array(
                confusions.map {
                    .object([
                        "text": .string($0.text), "expected": .string($0.expected), "predicted": .string($0.predicted),
                    ])
                }),
        ])
    }

    package var summary: String {
        var lines = [
            "accuracy \(Int((accuracy * 1000).rounded()) / 10)% on \(total) sentences; none precision \(Int((nonePrecision * 100).rounded()))%, recall \(Int((noneRecall * 100).rounded()))%"
        ]
        for c in confusions { lines.append("  \(c.expected) → \(c.predicted): \(c.text)") }
        return lines.joined(separator: "\n")
    }
}
