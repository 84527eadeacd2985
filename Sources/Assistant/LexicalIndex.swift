package import CallbotCore
import Foundation

/// BM25 over the passages of the knowledge base, on the core's French normalisation and stems.
/// A passage is indexed with its section and its fiche's title and keywords, which name its
/// subject when the paragraph does not repeat it.
package struct LexicalIndex: Sendable {
    /// A passage as retrieved.
    package struct Hit: Sendable {
        package var fiche: Int
        package var passage: Int
        /// BM25.
        package var score: Double
        /// The share of the question's weight (idf) the passage covers, 0…1.
        package var coverage: Double
        /// BM25 on the passage's own words only (its fiche's title and keywords left out): which
        /// passage of a fiche answers.
        package var ownScore: Double
    }

    private let documents: [(fiche: Int, passage: Int, terms: [String: Int], length: Int, own: [String: Int])]
    private let idf: [String: Double]
    private let unknownIDF: Double
    private let averageLength: Double
    static let k1 = 1.2
    static let b = 0.75

    package init(_ fiches: [KnowledgeFiche]) {
        var documents: [(Int, Int, [String: Int], Int, [String: Int])] = []
        for (f, fiche) in fiches.enumerated() {
            let subject = ([fiche.title] + fiche.keywords).joined(separator: " ")
            for (p, passage) in fiche.passages.enumerated() {
                let own = Self.stems(passage.section + " " + passage.text)
                let stems = Self.stems(subject) + own
                let terms = Dictionary(stems.map { ($0, 1) }, uniquingKeysWith: +)
                documents.append((f, p, terms, stems.count, Dictionary(own.map { ($0, 1) }, uniquingKeysWith: +)))
            }
        }
        self.documents = documents
        var frequency: [String: Int] = [:]
        for document in documents { for term in document.2.keys { frequency[term, default: 0] += 1 } }
        let n = Double(max(documents.count, 1))
        idf = frequency.mapValues { log(1 + (n - Double($0) + 0.5) / (Double($0) + 0.5)) }
        // A word no passage uses weighs like an average one: callers add context ("pour un
        // mariage") that should lower the match, not sink it.
        unknownIDF = idf.isEmpty ? 1 : idf.values.reduce(0, +) / Double(idf.count)
        averageLength = documents.isEmpty ? 1 : Double(documents.map(\.3).reduce(0, +)) / n
    }

    /// The content stems of `text`, question words left out.
    static func stems(_ text: String) -> [String] {
        IntentClassifier.stems(fromTokens: FrenchText.tokens(text).filter { !questionWords.contains($0) })
    }

    /// Words every question has and no passage answers by.
    static let questionWords: Set<String> = [
        "combien", "comment", "quand", "quel", "quelle", "quels", "quelles", "ou", "pourquoi", "quoi", "est", "ce",
        "que", "qui", "faut", "faire", "fait", "peut", "peux", "pouvez", "dois", "doit", "possible", "savoir",
        "renseignement", "question", "euh", "voila", "bon", "bah",
    ]

    /// The words a passage answers a kind of question with: "combien ça coûte" by its prices,
    /// "combien de temps" by its delays, "à quelle heure" by its hours.
    static func expansion(_ tokens: [String]) -> [String] {
        var words: [String] = []
        for (index, token) in tokens.enumerated() {
            let next =
                index + 2 < tokens.count ? Array(tokens[(index + 1)...(index + 2)]) : Array(tokens.dropFirst(index + 1))
            switch token {
            case "combien" where next.contains("temps"): words += ["délai", "jours", "mois", "semaines"]
            case "combien", "prix", "tarif", "tarifs", "cher", "payer", "payant", "gratuit":
                words += ["coûte", "euros", "tarif", "gratuit"]
            case "heure" where index > 0 && ["quelle", "a"].contains(tokens[index - 1]):
                words += ["heures", "ouvert", "horaires"]
            default: break
            }
        }
        return words
    }

    /// The best passages for `question`, best first.
    package func search(_ question: String, limit: Int = 3) -> [Hit] {
        let expanded = question + " " + Self.expansion(FrenchText.tokens(question)).joined(separator: " ")
        let query = Array(Set(Self.stems(expanded)))
        guard !query.isEmpty else { return [] }
        let total = query.reduce(0) { $0 + (idf[$1] ?? unknownIDF) }
        var hits: [Hit] = []
        for document in documents {
            var score = 0.0
            var own = 0.0
            var covered = 0.0
            let norm = Self.k1 * (1 - Self.b + Self.b * Double(document.length) / averageLength)
            for term in query {
                guard let count = document.terms[term], let weight = idf[term] else { continue }
                let tf = Double(count)
                score += weight * tf * (Self.k1 + 1) / (tf + norm)
                covered += weight
                if let mine = document.own[term] {
                    own += weight * Double(mine) * (Self.k1 + 1) / (Double(mine) + norm)
                }
            }
            if score > 0 {
                hits.append(
                    Hit(
                        fiche: document.fiche, passage: document.passage, score: score, coverage: covered / total,
                        ownScore: own))
            }
        }
        return Array(hits.sorted { $0.score > $1.score }.prefix(limit))
    }
}
