/// Frequent French words (folded) that are never part of a name or a street name.
package enum CommonWords {
    package static let all: Set<String> = [
        // Articles, pronouns, prepositions, conjunctions.
        "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "a", "et", "ou", "mais", "donc", "or", "ni",
        "car", "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "me", "te", "se", "moi", "toi", "lui",
        "leur", "leurs", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "votre", "nos", "vos",
        "ce", "cet", "cette", "ces", "ca", "cela", "ceci", "qui", "que", "quoi", "dont", "y", "en", "dans", "sur",
        "sous", "pour", "par", "avec", "sans", "chez", "vers", "entre", "depuis", "pendant", "avant", "apres", "ne",
        "pas", "plus", "tres", "bien", "aussi", "alors", "puis", "encore", "deja", "oui", "non", "merci", "bonjour",
        "bonsoir", "au", "revoir", "svp", "si", "comme", "quand", "comment", "pourquoi", "combien", "quel", "quelle",
        "quels", "quelles", "tout", "tous", "toute", "toutes", "rien", "quelque", "chose", "ici", "la", "voila",
        // Frequent verbs and forms.
        "est", "suis", "es", "sont", "sommes", "etes", "etre", "ai", "as", "avons", "avez", "ont", "avoir", "fait",
        "faire", "fais", "voudrais", "voudrait", "veux", "veut", "voulons", "voulez", "souhaite", "souhaiterais",
        "aimerais", "peux", "peut", "pouvez", "pourriez", "pourrais", "dois", "doit", "devez", "vais", "va", "allez",
        "appelle", "appelais", "appeler", "rappeler", "rappelle", "parler", "prendre", "avoir", "savoir", "sais",
        "habite", "habitons", "demande", "demander", "besoin", "cherche", "viens", "vient", "ete", "etait", "serait",
        "dire", "dis", "dit", "mettre", "passer", "passe", "passez", "venir", "aller", "donner", "donne", "reste",
        // Call vocabulary.
        "rendez", "rdv", "numero", "telephone", "mail", "adresse", "carte", "passeport", "mairie", "dossier",
        "acte", "conseiller", "agent", "heure", "heures", "h", "demain", "aujourdhui", "matin", "soir", "midi",
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "semaine", "jour", "jours",
        "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
        "novembre", "decembre", "ans", "an", "age", "fils", "fille", "femme", "mari", "enfant", "enfants",
    ]
}
