import Foundation

/// One intent as the classifier learns it: examples and optional keywords.
package struct IntentExamples: Sendable {
    package var name: String
    package var examples: [String]
    package var keywords: [String]

    package init(name: String, examples: [String], keywords: [String] = []) {
        self.name = name
        self.examples = examples
        self.keywords = keywords
    }
}

/// A ranked guess of what the caller wants.
package struct IntentScore: Sendable, Equatable {
    package var intent: String
    /// 0…1.
    package var confidence: Double
    /// Whether the utterance contains one of the intent's keywords.
    package var keywordMatched: Bool = false

    package init(intent: String, confidence: Double, keywordMatched: Bool = false) {
        self.intent = intent
        self.confidence = confidence
        self.keywordMatched = keywordMatched
    }
}

/// Recognises intents by similarity to the administrator's examples and keywords.
///
/// Each example becomes a TF-IDF vector of word stems and stem pairs; an utterance scores
/// against each intent by its nearest example and the intent's centroid, plus a bonus for a
/// keyword it contains. Words the examples never use weigh as rare words, so a question on
/// another subject scores low and falls to `none`. All intent knowledge comes from the config.
package struct IntentClassifier: Sendable {
    /// The intent name returned when nothing fits.
    package static let none = "none"

    private let intents: [String]
    private var features: [String: Int] = [:]
    private var idf: [Float] = []
    private var unknownIDF: Float = 1
    /// Per feature: the examples that use it, with their normalised weight.
    private var postings: [[(example: Int32, weight: Float)]] = []
    /// Per feature: the intents whose centroid uses it.
    private var centroidPostings: [[(intent: Int32, weight: Float)]] = []
    private var exampleIntent: [Int32] = []
    /// Per intent: its keywords as stem sequences.
    private var keywordStems: [[[String]]] = []
    private let threshold: Double

    /// Weight of a stem pair relative to a single stem.
    static let pairWeight: Float = 0.6
    /// Added to an intent's score when the utterance contains one of its keywords.
    static let keywordBonus: Double = 0.2

    /// Learns `intents`; below `threshold` the answer is ``none``.
    package init(intents: [IntentExamples], threshold: Double) {
        self.intents = intents.map(\.name)
        self.threshold = threshold
        var exampleFeatures: [[String: Float]] = []
        for (index, intent) in intents.enumerated() {
            for example in intent.examples {
                exampleFeatures.append(Self.featureCounts(Self.stems(of: example)))
                exampleIntent.append(Int32(index))
            }
            // Keywords are examples too, and matched as phrases.
            for keyword in intent.keywords {
                exampleFeatures.append(Self.featureCounts(Self.stems(of: keyword)))
                exampleIntent.append(Int32(index))
            }
        }
        // Keywords match as phrases, stop words included: "ma demande" is not any "demande".
        keywordStems = intents.map {
            $0.keywords.map { FrenchText.tokens($0).map(FrenchStemmer.stem) }.filter { !$0.isEmpty }
        }
        var documentFrequency: [Int] = []
        for counts in exampleFeatures {
            for feature in counts.keys {
                if let id = features[feature] {
                    documentFrequency[id] += 1
                } else {
                    features[feature] = documentFrequency.count
                    documentFrequency.append(1)
                }
            }
        }
        let n = Float(exampleFeatures.count)
        idf = documentFrequency.map { log((n + 1) / Float($0 + 1)) + 1 }
        unknownIDF = log(n + 1) + 1
        postings = Array(repeating: [], count: idf.count)
        var centroids = Array(repeating: [Int: Float](), count: intents.count)
        for (exampleIndex, counts) in exampleFeatures.enumerated() {
            let vector = normalized(counts.map { (features[$0.key]!, (1 + log($0.value)) * idf[features[$0.key]!]) })
            for (id, weight) in vector {
                postings[id].append((Int32(exampleIndex), weight))
                centroids[Int(exampleIntent[exampleIndex])][id, default: 0] += weight
            }
        }
        centroidPostings = Array(repeating: [], count: idf.count)
        for (intent, centroid) in centroids.enumerated() {
            for (id, weight) in normalized(centroid.map { ($0.key, $0.value) }) {
                centroidPostings[id].append((Int32(intent), weight))
            }
        }
    }

    /// All intents ranked, best first, with ``none`` first when the best is below the threshold.
    package func rank(_ text: String) -> [IntentScore] {
        rank(tokens: FrenchText.tokens(text))
    }

    /// Ranks intents for an utterance already normalised by ``FrenchText/tokens(_:)``.
    package func rank(tokens: [String]) -> [IntentScore] {
        rank(tokens: tokens, stems: tokens.map(FrenchStemmer.stem))
    }

    /// Ranks intents for normalised `tokens` whose stems the caller has already computed.
    package func rank(tokens: [String], stems allStems: [String]) -> [IntentScore] {
        var stems: [String] = []
        stems.reserveCapacity(tokens.count)
        for (token, stem) in zip(tokens, allStems) where Self.isContent(token) { stems.append(stem) }
        var query: [(id: Int, weight: Float)] = []
        var norm: Float = 0
        for (feature, count) in Self.featureCounts(stems) {
            if let id = features[feature] {
                let weight = (1 + log(count)) * idf[id]
                query.append((id, weight))
                norm += weight * weight
            } else {
                let weight = (1 + log(count)) * unknownIDF * (feature.contains(" ") ? 0.5 : 1)
                norm += weight * weight
            }
        }
        guard norm > 0 else { return [IntentScore(intent: Self.none, confidence: 1)] }
        let inverse = 1 / norm.squareRoot()
        var exampleScores = [Float](repeating: 0, count: exampleIntent.count)
        var centroidScores = [Float](repeating: 0, count: intents.count)
        for (id, weight) in query {
            let w = weight * inverse
            for posting in postings[id] { exampleScores[Int(posting.example)] += w * posting.weight }
            for posting in centroidPostings[id] { centroidScores[Int(posting.intent)] += w * posting.weight }
        }
        var best = [Float](repeating: 0, count: intents.count)
        for (example, score) in exampleScores.enumerated() where score > best[Int(exampleIntent[example])] {
            best[Int(exampleIntent[example])] = score
        }
        var scores: [IntentScore] = []
        scores.reserveCapacity(intents.count + 1)
        for (index, name) in intents.enumerated() {
            var score = 0.65 * Double(best[index]) + 0.35 * Double(centroidScores[index])
            let matched = keywordStems[index].contains { Self.contains(allStems, $0) }
            if matched { score += Self.keywordBonus }
            scores.append(IntentScore(intent: name, confidence: min(1, score), keywordMatched: matched))
        }
        scores.sort { $0.confidence > $1.confidence }
        let top = scores.first?.confidence ?? 0
        if top < threshold {
            scores.insert(IntentScore(intent: Self.none, confidence: 1 - top / max(threshold, 0.01) * 0.5), at: 0)
        }
        return scores
    }

    /// The content stems of `text`: normalised, stop words out, stemmed.
    package static func stems(of text: String) -> [String] { stems(fromTokens: FrenchText.tokens(text)) }

    /// The content stems of tokens already normalised by ``FrenchText/tokens(_:)``.
    package static func stems(fromTokens tokens: [String]) -> [String] {
        tokens.filter(isContent).map(FrenchStemmer.stem)
    }

    /// Whether a normalised token carries meaning for intents: not a stop word, not a number.
    static func isContent(_ token: String) -> Bool {
        guard let first = token.utf8.first, !(48...57).contains(first) else { return false }
        return !stopWords.contains(token)
    }

    static func featureCounts(_ stems: [String]) -> [String: Float] {
        var counts: [String: Float] = [:]
        for stem in stems { counts[stem, default: 0] += 1 }
        if stems.count > 1 {
            for i in 0..<(stems.count - 1) { counts[stems[i] + " " + stems[i + 1], default: 0] += pairWeight }
        }
        return counts
    }

    /// Whether `phrase` stands in `stems` as a run of consecutive items.
    static func contains(_ stems: [String], _ phrase: [String]) -> Bool {
        guard phrase.count <= stems.count else { return false }
        for start in 0...(stems.count - phrase.count) where stems[start] == phrase[0] {
            if stems[start..<(start + phrase.count)].elementsEqual(phrase) { return true }
        }
        return false
    }

    /// Words that carry no intent: articles, pronouns, politeness, auxiliaries.
    static let stopWords: Set<String> = [
        "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "a", "et", "je", "tu", "il", "elle", "on",
        "nous", "vous", "ils", "elles", "me", "te", "se", "moi", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa",
        "ses", "notre", "votre", "nos", "vos", "ce", "cet", "cette", "ces", "ca", "cela", "qui", "que", "est", "suis",
        "es", "sont", "etre", "ai", "as", "avons", "avez", "ont", "y", "en", "dans", "sur", "pour", "par", "avec",
        "bonjour", "bonsoir", "merci", "madame", "monsieur", "plait", "svp", "voudrais", "voudrait", "veux", "veut",
        "voulez", "souhaite", "souhaiterais", "souhaiterai", "aimerais", "aimerai", "bien", "alors", "donc", "oui",
        "allo", "ne", "si", "the", "faut", "il", "peux", "pouvez", "pourriez", "pourrais", "savoir", "dire",
    ]
}

private func normalized(_ vector: [(Int, Float)]) -> [(Int, Float)] {
    let norm = vector.reduce(0) { $0 + $1.1 * $1.1 }.squareRoot()
    guard norm > 0 else { return vector }
    return vector.map { ($0.0, $0.1 / norm) }
}
