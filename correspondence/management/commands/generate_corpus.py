"""
Write a synthetic corpus of letters in the archive's JSON format, for benchmarks.

Usage::

    python manage.py generate_corpus --letters 100000 --seed 1 --output corpus.json
    python manage.py generate_corpus --letters 200 --output -          # to standard output
    python manage.py import_letters corpus.json

The same ``--seed`` and options give a byte-identical file. The file has the
shape of the letter list's ``?format=json`` answer, with each letter in the
full form of a letter page's ``?format=json`` (``exports.letter_detail``):
``{"count": N, "next": null, "previous": null, "results": [{letter}, ...]}``,
one letter per line. It is written as it is generated: memory stays flat
whatever ``--letters`` is.

What the corpus looks like (at the default sizes):

* French-like texts of 150 to 600 words, built from a vocabulary of several
  hundred French words (diplomatic vocabulary first) with accents, agreement
  and elision, in sentences and paragraphs: salutation, body, closing formula,
  signature; a few footnotes.
* 5,000 people and organisations (about 3,500 and 1,500). The number of
  letters each sends follows a Zipf law; the most prolific sender, a person,
  sends 12 % of the letters (12,000 of 100,000). Recipients follow another
  Zipf law over another ordering.
* 500 places of writing (Zipf as well), 2,000 cited documents (Security
  Council and General Assembly resolutions, reports, declarations,
  conventions), cited 0 to 3 times per letter, Zipf again.
* Dates from 1990 to 2025, in chronological order in the file: 85 % known
  to the day, 10 % to the month, 5 % to the year (``date_precision`` month or
  year, ``date_from``/``date_to`` spanning it).
* Source documents of 1 to 12 consecutive items; some items are annexes of
  the first, some letters answer an earlier one.
* ``COMMON_WORD`` is in about half the letters, ``VERY_COMMON_WORD`` in
  nearly all, each of ``RARE_WORDS`` in about one letter in 2,000: the
  benchmark searches for them.
"""

import bisect
import calendar
import collections
import datetime
import json
import random
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

#: A word about half the letters contain (the common-word search of the benchmark).
COMMON_WORD = "négociation"
#: A word almost every letter contains (the worst case of a search).
VERY_COMMON_WORD = "sécurité"
#: Words each found in about one letter in 2,000 (the rare-word search of the benchmark).
RARE_WORDS = (
    "ornithologue",
    "chrysanthème",
    "quincaillerie",
    "hippocampe",
    "marjolaine",
    "saxophone",
    "kaléidoscope",
    "éphéméride",
    "baobab",
    "scaphandre",
)
RARE_WORD_PROBABILITY = 0.0005  # per letter and per word of RARE_WORDS
#: Words in a letter's text (all its paragraphs), at least and at most.
MIN_WORDS, MAX_WORDS = 150, 600

BASE_URL = "https://archive.example.org"
FIRST_DATE = datetime.date(1990, 1, 1)
LAST_DATE = datetime.date(2025, 12, 31)
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()

# ---------------------------------------------------------------------------
# Vocabulary. Lists are in order of frequency: the first words are drawn most.
# ---------------------------------------------------------------------------

# Feminine nouns; "singular:plural" where the plural is not singular + s.
NOUNS_F = """
sécurité coopération négociation frontière résolution délégation situation paix question région
communauté population déclaration position intégrité souveraineté stabilité responsabilité mission
organisation commission réunion conférence session lettre demande réponse attention préoccupation
mesure proposition décision action initiative solution crise tension escalade attaque opération
violation occupation agression libération reconstruction assistance aide protection victime famille
personne vie autorité ligne zone enquête preuve information observation vérification surveillance
procédure disposition obligation norme règle charte loi constitution élection démocratie liberté
dignité justice vérité mémoire histoire culture langue religion propriété destruction catastrophe
santé eau énergie économie politique stratégie diplomatie ambassade représentation relation
réconciliation médiation confiance infrastructure école route ville capitale province armée force
troupe mine munition guerre entente volonté coordination évaluation
recommandation conclusion contribution participation intervention présence perspective priorité
condition garantie sanction restriction limitation intention voie étape phase période date séance
majorité minorité identité nationalité citoyenneté tradition coutume mosquée église cathédrale
bibliothèque université clinique maladie épidémie nourriture récolte agriculture
industrie entreprise banque monnaie dette croissance pauvreté migration frontière
""".split()

# Masculine nouns; "singular:plural" where the plural is not singular + s (or -al: -aux, -eau: -eaux).
NOUNS_M = """
accord conflit territoire gouvernement processus règlement dialogue respect engagement soutien
effort droit principe peuple pays:pays État mandat rapport document texte paragraphe article
mécanisme cessez-le-feu:cessez-le-feu progrès:progrès développement programme projet plan budget
financement système contrôle réfugié déplacé prisonnier otage civil militaire soldat officier
observateur expert groupe comité bureau secrétariat sommet entretien échange communiqué appel
avertissement incident bombardement tir village district corridor passage point poste patrimoine
monument cimetière héritage avenir passé contexte cadre fondement objectif résultat impact dommage
préjudice crime ministère ministre représentant ambassadeur président conseil débat vote scrutin
protocole traité mémorandum calendrier délai retrait déploiement désarmement armement équipement
transport commerce marché investissement emploi logement bâtiment pont aéroport port chemin fleuve
lac barrage environnement climat territoire litige différend malentendu consensus compromis
partenariat voisinage voisin:voisins citoyen enfant adulte témoin journaliste média:médias
hommage souvenir anniversaire événement phénomène constat bilan examen suivi déminage hôpital
""".split()

# Adjectives: masculine, or "masculine:feminine" where the feminine is irregular.
ADJECTIVES = """
international humanitaire régional national diplomatique politique militaire pacifique durable
global général permanent important grave sérieux:sérieuse profond légitime juridique territorial
souverain indépendant démocratique économique social culturel historique récent prochain
dernier:dernière nouveau:nouvelle présent actuel officiel préliminaire définitif:définitive
complet:complète immédiat urgent nécessaire essentiel fondamental constructif:constructive
bilatéral multilatéral européen arménien azerbaïdjanais onusien concerné intéressé sécuritaire
environnemental sanitaire médical financier:financière technique administratif:administrative
spécial conjoint unilatéral inacceptable inquiétant regrettable préoccupant public:publique
civil commun large fort faible clair précis:précise exact efficace effectif:effective réel
possible impossible probable certain sincère ferme déterminé résolu attentif:attentive prudent
graduel progressif:progressive systématique massif:massive délibéré injustifié arbitraire
illégal légal conforme contraire équitable juste impartial neutre transparent objectif:objective
""".split()

# Verbs taking a direct object, 3rd person singular present; "singular:plural" when irregular.
VERBS = """
souligne rappelle:rappellent réaffirme exprime condamne salue demande exige encourage examine
appuie soutient:soutiennent reconnaît:reconnaissent renforce garantit:garantissent assure protège
respecte viole menace compromet:compromettent favorise facilite permet:permettent empêche
concerne établit:établissent prévoit:prévoient définit:définissent présente transmet:transmettent
porte accueille:accueillent partage poursuit:poursuivent maintient:maintiennent développe
approuve rejette:rejettent confirme dénonce regrette déplore considère:considèrent étudie
prépare organise soumet:soumettent adopte applique mentionne évoque
""".split()

# Verbs that introduce "que ..." (indicative).
THAT_VERBS = """
souligne rappelle réaffirme estime considère note constate affirme précise observe signale indique
déclare reconnaît espère
""".split()

# Infinitives for "de bien vouloir ...", "peut-il ...".
INFINITIVES = """
examiner transmettre soutenir garantir assurer protéger respecter renforcer faciliter condamner
rappeler reconnaître prendre considérer étudier appuyer encourager organiser préparer publier
diffuser distribuer
""".split()

# Past participles for "a ... " (passé composé).
PARTICIPLES = """
adopté transmis examiné condamné rappelé souligné exprimé réaffirmé publié signé présenté reçu
approuvé rejeté confirmé dénoncé évoqué organisé préparé soumis
""".split()

ADVERBS = """
également notamment pleinement fermement clairement vivement toujours déjà encore récemment
immédiatement directement strictement gravement profondément systématiquement régulièrement
""".split()

CONNECTORS = (
    "Par ailleurs",
    "En outre",
    "À cet égard",
    "Dans ce contexte",
    "Néanmoins",
    "De plus",
    "Toutefois",
    "Ainsi",
    "En conséquence",
    "Dans le même temps",
    "À ce propos",
    "Par conséquent",
    "Cependant",
    "De même",
    "Enfin",
    "En effet",
)

PREPOSITIONS = (
    "pour",
    "dans",
    "sur",
    "avec",
    "par",
    "envers",
    "concernant",
    "en faveur de",
    "au sujet de",
    "à l'égard de",
    "dans le cadre de",
    "en vue de",
    "lors de",
    "à propos de",
    "au sein de",
    "conformément à",
)

# Nouns that can act (subjects of a sentence), with a determiner.
SUBJECTS = (
    "le gouvernement",
    "la délégation",
    "la République",
    "notre pays",
    "la communauté internationale",
    "le Conseil de sécurité",
    "l'Assemblée générale",
    "le Président",
    "le Secrétaire général",
    "la partie adverse",
    "le ministère des affaires étrangères",
    "la mission permanente",
    "le Conseil",
    "l'Assemblée",
    "la Commission",
    "le Comité",
    "l'Organisation",
    "le peuple",
    "le Parlement",
    "l'État",
)

SALUTATIONS = (
    "Monsieur le Secrétaire général,",
    "Madame la Secrétaire générale,",
    "Monsieur le Président,",
    "Madame la Présidente,",
    "Excellence,",
    "Monsieur le Ministre,",
    "Madame la Ministre,",
    "Monsieur l'Ambassadeur,",
)

CLOSINGS = (
    "Je vous prie d'agréer, {salutation} l'assurance de ma très haute considération.",
    "Je vous saurais gré de bien vouloir faire distribuer le texte de la présente lettre comme document officiel.",
    "Veuillez agréer, {salutation} les assurances de ma plus haute considération.",
    "Je saisis cette occasion pour vous renouveler, {salutation} les assurances de ma très haute considération.",
)

OPENINGS = (
    "J'ai l'honneur de porter à votre attention {np}.",
    "J'ai l'honneur de vous transmettre ci-joint {np}.",
    "Je me permets d'appeler votre attention sur {np}.",
    "Comme suite à notre entretien, j'ai l'honneur de vous faire part de {np}.",
    "Je vous écris au sujet de {np}.",
)

NOTE_VERBALE_OPENING = (
    "{sender} présente ses compliments au Secrétariat et a l'honneur de lui transmettre ci-joint {np}."
)

FIRST_NAMES_M = """
Jean François Pierre Michel Philippe Alain Nicolas Christophe Stéphane Frédéric Jérôme Sébastien
Hervé Benoît Rémi Joël Gérard André Aurélien Étienne Théo Loïc Cédric Noël Aram Armen Tigran
Vardan Hovhannes Davit Levon Samvel Elchin Rashad Farid Tural Kamran Ilham Vugar Anar Elnur
Giorgi Levan Nikoloz Sergueï Dmitri Andreï Mehmet Ahmet Emre Hans Klaus Jürgen Lars Anders Björn
Luca Marco Giorgio João Tomás Íñigo Mateo Karim Youssef Hamid
""".split()
FIRST_NAMES_F = """
Marie Anne Isabelle Catherine Sophie Nathalie Valérie Hélène Émilie Céline Aurélie Mélanie Chloé
Léa Zoé Inès Maëlle Noémie Agnès Geneviève Françoise Thérèse Élodie Gaëlle Anahit Lusine Nune
Arpine Gayane Siranush Aynur Leyla Gunel Sevinj Nigar Aysel Nino Tamar Ketevan Olga Tatiana
Irina Ayşe Elif Zeynep Ingrid Astrid Sigrid Giulia Chiara Inês Lucía María Amira Samira Leïla
""".split()
SURNAMES = """
Dupont Lefèvre Lefebvre Moreau Girard Bérard Lemaître Dubœuf Fontaine Chevalier Rousseau Mercier
Bonnet Lambert Faure Gauthier Perrin Clément Rivière Lacroix Marchand Benoît Brunet Garnier
Roussel Laurent Aubert Barbier Boucher Deschamps Fournier Gérard Hébert Joly Leclerc Lécuyer
Maréchal Ménard Pélissier Prévost Régnier Sénéchal Thébault Vallée Besançon Desrosiers Lévêque
Petrossian Hakobyan Grigoryan Sargsyan Harutyunyan Avetisyan Manukyan Karapetyan Mkrtchyan
Vardanyan Poghosyan Ghazaryan Aliyev Mammadov Huseynov Hasanov Ismayilov Guliyev Rzayev
Jafarov Mehdiyev Abbasov Babayev Taghiyev Beridze Kapanadze Gelashvili Chkheidze Ivanov Petrov
Smirnov Kuznetsov Volkov Yılmaz Kaya Demir Şahin Çelik Öztürk Müller Schäfer Köhler Groß
Lindqvist Åberg Sørensen Nyström Rossi Bianchi Esposito Ricci Ferrara Gonçalves Peña Muñoz
Núñez Fernández Benali Haddad Khoury Nasser Okonkwo Diallo Traoré Ndiaye Keïta Mbeki Nakamura
Tanaka Kowalski Nowak Dvořák Novák Horváth Szabó Kovač Popescu Ionescu Dimitrov Papadopoulos
""".split()

PERSON_FUNCTIONS = (
    "Représentant permanent de {country} auprès de l'Organisation des Nations Unies",
    "Représentante permanente de {country} auprès de l'Organisation des Nations Unies",
    "Ministre des affaires étrangères de {country}",
    "Ambassadeur de {country} en France",
    "Chargé d'affaires par intérim de {country}",
    "Chef de la délégation de {country}",
    "Président de {country}",
    "Vice-ministre des affaires étrangères de {country}",
    "Conseiller juridique de la mission permanente de {country}",
    "Médiateur de {country}",
)

# Country name, and the article it takes ("le", "la", "l'", "les" or "" for none).
COUNTRIES = """
Arménie:la Azerbaïdjan:l' Géorgie:la France:la Russie:la Turquie:la Iran:l' Allemagne:l'
Italie:l' Espagne:l' Portugal:le Royaume-Uni:le États-Unis:les Canada:le Mexique:le Brésil:le
Argentine:l' Chili:le Pérou:le Équateur:l' Colombie:la Venezuela:le Bolivie:la Uruguay:l'
Paraguay:le Cuba: Haïti: Jamaïque:la Sénégal:le Mali:le Niger:le Nigéria:le Ghana:le Bénin:le
Togo:le Cameroun:le Gabon:le Congo:le Kenya:le Éthiopie:l' Érythrée:l' Égypte:l' Maroc:le
Algérie:l' Tunisie:la Libye:la Soudan:le Tchad:le Madagascar: Maurice: Seychelles:les Comores:les
Afrique du Sud:l' Namibie:la Botswana:le Zambie:la Zimbabwe:le Mozambique:le Angola:l'
Tanzanie:la Ouganda:l' Rwanda:le Burundi:le Arabie saoudite:l' Émirats arabes unis:les Qatar:le
Koweït:le Bahreïn: Oman: Yémen:le Jordanie:la Liban:le Syrie:la Irak:l' Israël: Pakistan:le
Inde:l' Népal:le Bhoutan:le Bangladesh:le Sri Lanka: Chine:la Japon:le Corée:la Mongolie:la
Viet Nam:le Thaïlande:la Malaisie:la Indonésie:l' Philippines:les Singapour: Australie:l'
Nouvelle-Zélande:la Fidji:les Kazakhstan:le Ouzbékistan:l' Turkménistan:le Kirghizistan:le
Tadjikistan:le Afghanistan:l' Ukraine:l' Bélarus:le Moldova:la Roumanie:la Bulgarie:la
Grèce:la Chypre: Malte: Serbie:la Croatie:la Slovénie:la Bosnie-Herzégovine:la Monténégro:le
Albanie:l' Macédoine du Nord:la Hongrie:la Autriche:l' Suisse:la Belgique:la Pays-Bas:les
Luxembourg:le Danemark:le Norvège:la Suède:la Finlande:la Islande:l' Irlande:l' Pologne:la
Tchéquie:la Slovaquie:la Estonie:l' Lettonie:la Lituanie:la Liechtenstein:le Monaco: Andorre:
Saint-Marin: Vatican:le
""".split()

ORGANISATION_FORMS = (
    ("la", "Mission permanente de {country} auprès de l'Organisation des Nations Unies"),
    ("le", "Ministère des affaires étrangères de {country}"),
    ("l'", "Ambassade de {country} en France"),
    ("la", "Délégation de {country} auprès du Conseil de l'Europe"),
    ("la", "Mission permanente de {country} auprès de l'Office des Nations Unies à Genève"),
    ("le", "Parlement de {country}"),
    ("la", "Commission nationale des droits de l'homme de {country}"),
    ("la", "Présidence de {country}"),
    ("le", "Bureau du Médiateur de {country}"),
    ("le", "Ministère de la défense de {country}"),
    ("la", "Délégation de {country} auprès de l'OSCE"),
    ("le", "Comité national de la Croix-Rouge de {country}"),
)

INTERNATIONAL_ORGANISATIONS = (
    ("le", "Conseil de sécurité des Nations Unies"),
    ("l'", "Assemblée générale des Nations Unies"),
    ("le", "Secrétariat de l'Organisation des Nations Unies"),
    ("l'", "Organisation pour la sécurité et la coopération en Europe"),
    ("le", "Groupe de Minsk de l'OSCE"),
    ("le", "Conseil de l'Europe"),
    ("l'", "Assemblée parlementaire du Conseil de l'Europe"),
    ("le", "Congrès des pouvoirs locaux et régionaux"),
    ("la", "Cour européenne des droits de l'homme"),
    ("le", "Comité international de la Croix-Rouge"),
    ("le", "Haut-Commissariat des Nations Unies pour les réfugiés"),
    ("le", "Haut-Commissariat des Nations Unies aux droits de l'homme"),
    ("l'", "Organisation de la coopération islamique"),
    ("l'", "Union européenne"),
    ("la", "Commission européenne"),
    ("le", "Parlement européen"),
    ("l'", "Organisation des Nations Unies pour l'éducation, la science et la culture"),
    ("le", "Programme des Nations Unies pour le développement"),
    ("le", "Fonds des Nations Unies pour l'enfance"),
    ("l'", "Organisation mondiale de la santé"),
    ("la", "Cour internationale de Justice"),
    ("le", "Mouvement des pays non alignés"),
    ("la", "Communauté d'États indépendants"),
    ("l'", "Organisation du Traité de sécurité collective"),
    ("l'", "Union africaine"),
    ("la", "Ligue des États arabes"),
    ("l'", "Organisation internationale de la Francophonie"),
    ("le", "Comité contre la torture"),
    ("le", "Conseil des droits de l'homme"),
    ("la", "Commission du droit international"),
)

CITIES = """
Genève Strasbourg Paris New York Vienne Bruxelles Moscou Téhéran Ankara Tbilissi Erevan Bakou
Gandja Goris Gyumri Vanadzor Soumgaït Chéki Lankaran Nakhitchevan Choucha Stepanakert Agdam
Berlin Londres Rome Madrid Lisbonne Varsovie Prague Budapest Bucarest Sofia Athènes Belgrade
Zagreb Ljubljana Sarajevo Tirana Skopje Kyiv Minsk Chișinău Riga Vilnius Tallinn Helsinki
Stockholm Oslo Copenhague Reykjavik Dublin Amsterdam La Haye Luxembourg Berne Zurich Lausanne
Monaco Andorre-la-Vieille Istanbul Izmir Antalya Tabriz Ispahan Bagdad Damas Beyrouth Amman
Jérusalem Le Caire Alexandrie Rabat Casablanca Alger Tunis Tripoli Dakar Bamako Niamey Abuja
Accra Cotonou Lomé Yaoundé Libreville Brazzaville Kinshasa Nairobi Addis-Abeba Asmara Khartoum
N'Djamena Antananarivo Port-Louis Pretoria Windhoek Gaborone Lusaka Harare Maputo Luanda
Dodoma Kampala Kigali Bujumbura Riyad Abou Dhabi Doha Koweït Manama Mascate Sanaa Islamabad
New Delhi Katmandou Dacca Colombo Pékin Tokyo Séoul Oulan-Bator Hanoï Bangkok Kuala Lumpur
Jakarta Manille Singapour Canberra Wellington Astana Almaty Tachkent Achgabat Bichkek Douchanbé
Kaboul Washington Ottawa Montréal Québec Mexico Brasília Buenos Aires Santiago Lima Quito
Bogota Caracas La Paz Montevideo Asuncion La Havane Port-au-Prince Kingston Lyon Marseille
Bordeaux Toulouse Nantes Lille Nice Grenoble Montpellier Rennes Dijon Besançon Orléans Nîmes
Saint-Étienne Clermont-Ferrand Aix-en-Provence Perpignan Béziers Angoulême Valence Évian-les-Bains
""".split()
# Multi-word cities above are split; they are rejoined here.
_JOINED_CITIES = {
    ("New", "York"),
    ("La", "Haye"),
    ("Le", "Caire"),
    ("Abou", "Dhabi"),
    ("New", "Delhi"),
    ("Kuala", "Lumpur"),
    ("Buenos", "Aires"),
    ("La", "Paz"),
    ("La", "Havane"),
}
PLACE_ROOTS = """
Beaumont Montfort Villeneuve Châteauneuf Clairvaux Rochefort Bellegarde Fontenay Montreuil
Valmont Sainte-Croix Roquebrune Belvédère Montségur Castelnau Mirabel Aubépine Chênaie Hêtraie
Écluse Prémontré Guéret Ménétrol Brézé Oléron Évreux Fréjus Gérardmer Cévennes
""".split()
PLACE_SUFFIXES = (
    "-sur-Loire",
    "-sur-Mer",
    "-les-Bains",
    "-le-Château",
    "-en-Vallée",
    "-sur-Aude",
    "-la-Forêt",
    "-du-Lac",
    "-lès-Mines",
    "-d'Arménie",
    "-de-Provence",
    "-sur-Araxe",
    "-aux-Chênes",
    "-en-Montagne",
    "-la-Rivière",
    "-le-Vieux",
    "-sous-Bois",
    "-des-Prés",
)

TOPICS = (
    "la situation dans la région",
    "la protection des civils dans les conflits armés",
    "les personnes disparues",
    "le déminage à des fins humanitaires",
    "le retour des réfugiés et des personnes déplacées",
    "la protection du patrimoine culturel",
    "les mesures de confiance",
    "la sécurité des frontières",
    "la coopération régionale",
    "le respect du droit international humanitaire",
    "la situation humanitaire",
    "la non-prolifération",
    "les droits des minorités",
    "la reconstruction après le conflit",
    "la liberté de circulation",
)

CONVENTIONS = (
    "Convention de Genève relative à la protection des personnes civiles en temps de guerre",
    "Convention pour la prévention et la répression du crime de génocide",
    "Convention de sauvegarde des droits de l'homme et des libertés fondamentales",
    "Convention de Vienne sur les relations diplomatiques",
    "Convention de Vienne sur le droit des traités",
    "Convention pour la protection des biens culturels en cas de conflit armé",
    "Convention internationale sur l'élimination de toutes les formes de discrimination raciale",
    "Convention relative aux droits de l'enfant",
    "Convention relative au statut des réfugiés",
    "Convention sur l'interdiction des mines antipersonnel",
    "Convention contre la torture et autres peines ou traitements cruels, inhumains ou dégradants",
    "Pacte international relatif aux droits civils et politiques",
    "Pacte international relatif aux droits économiques, sociaux et culturels",
    "Charte des Nations Unies",
    "Acte final d'Helsinki",
    "Charte de Paris pour une nouvelle Europe",
    "Statut du Conseil de l'Europe",
    "Charte européenne de l'autonomie locale",
    "Protocole additionnel aux Conventions de Genève",
    "Déclaration universelle des droits de l'homme",
)

KIND_LABELS = {
    "letter": "Lettre",
    "reply": "Réponse",
    "note_verbale": "Note verbale",
    "annex": "Annexe",
    "report": "Rapport",
    "statement": "Déclaration",
    "covering_letter": "Lettre de transmission",
}
ROLES = ("sender", "signatory", "recipient", "copy")
VOWELS = frozenset("aeiouyhàâäéèêëîïôöûüœAEIOUYHÀÂÄÉÈÊËÎÏÔÖÛÜŒ")


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------


class Zipf:
    """Items drawn with probability proportional to 1 / rank ** exponent (the first item most often)."""

    def __init__(self, items, exponent=1.0, first_share=None):
        self.items = list(items)
        weights = [1.0 / (rank**exponent) for rank in range(1, len(self.items) + 1)]
        if first_share is not None and len(weights) > 1:
            # The first item takes exactly first_share of the draws; the others keep their Zipf ratios.
            rest = sum(weights[1:])
            weights[0] = rest * first_share / (1 - first_share)
        self.cumulative = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng):
        index = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.items[min(index, len(self.items) - 1)]


def starts_with_vowel(word):
    return word[:1] in VOWELS


def _parse_forms(words, plural_rule):
    forms = []
    for entry in dict.fromkeys(words):  # drop repeated entries, keep order
        singular, _sep, plural = entry.partition(":")
        forms.append((singular, plural or plural_rule(singular)))
    return forms


def noun_plural(singular):
    if singular.endswith(("s", "x", "z")):
        return singular
    if singular.endswith("al"):
        return singular[:-2] + "aux"
    if singular.endswith(("eau", "eu")):
        return singular + "x"
    return singular + "s"


def adjective_forms(entry):
    """(masculine singular, feminine singular, masculine plural, feminine plural)."""
    masculine, _sep, feminine = entry.partition(":")
    if not feminine:
        if masculine.endswith("e"):
            feminine = masculine
        elif masculine.endswith(("el", "ien", "en")):
            feminine = masculine + masculine[-1] + "e"
        else:
            feminine = masculine + "e"
    if masculine.endswith(("s", "x")):
        masculine_plural = masculine
    elif masculine.endswith("al"):
        masculine_plural = masculine[:-2] + "aux"
    elif masculine.endswith("eau"):
        masculine_plural = masculine + "x"
    else:
        masculine_plural = masculine + "s"
    return masculine, feminine, masculine_plural, feminine + "s"


def verb_plural(singular):
    if singular.endswith("e"):
        return singular + "nt"
    return singular + "ent"


class Vocabulary:
    """The words, with Zipf draws, and the grammar that puts them together."""

    def __init__(self):
        # Interleave the genders by frequency: the nth feminine and nth masculine noun weigh about the same.
        feminine = [(s, p, "f") for s, p in _parse_forms(NOUNS_F, noun_plural)]
        masculine = [(s, p, "m") for s, p in _parse_forms(NOUNS_M, noun_plural)]
        interleaved = [noun for pair in zip(feminine, masculine, strict=False) for noun in pair]
        interleaved += feminine[len(masculine) :] + masculine[len(feminine) :]
        self.nouns = Zipf(interleaved, exponent=0.6)
        self.adjectives = Zipf([adjective_forms(entry) for entry in dict.fromkeys(ADJECTIVES)], exponent=0.8)
        self.verbs = Zipf(_parse_forms(VERBS, verb_plural), exponent=0.8)
        self.that_verbs = Zipf(THAT_VERBS, exponent=0.7)
        self.infinitives = Zipf(INFINITIVES, exponent=0.7)
        self.participles = Zipf(PARTICIPLES, exponent=0.7)
        self.adverbs = Zipf(ADVERBS, exponent=0.8)
        self.connectors = Zipf(CONNECTORS, exponent=0.5)
        self.prepositions = Zipf(PREPOSITIONS, exponent=0.6)
        self.subjects = Zipf(SUBJECTS, exponent=0.8)

    # -- noun phrases ---------------------------------------------------------

    def noun_phrase(self, rng, preposition="", determiner=None, complement=0.35, plural=None):
        """A noun phrase with its determiner, after ``preposition`` (contracted: du, au, des, d')."""
        singular, plural_form, gender = self.nouns.pick(rng)
        if plural is None:
            plural = rng.random() < 0.25
        noun = plural_form if plural else singular
        words = [noun]
        if rng.random() < 0.45:
            forms = self.adjectives.pick(rng)
            words.append(forms[(2 if plural else 0) + (1 if gender == "f" else 0)])
        if rng.random() < complement:
            words.append(self.noun_phrase(rng, "de", "def", complement=0.0))
        phrase = " ".join(words)
        self.last_gender = gender
        return attach(preposition, determined(determiner or _DETERMINERS.pick(rng), gender, plural, noun), phrase)

    def subject(self, rng):
        return self.subjects.pick(rng)

    def verb(self, rng, plural=False):
        singular, plural_form = self.verbs.pick(rng)
        return plural_form if plural else singular

    # -- sentences ------------------------------------------------------------

    def sentence(self, rng):
        roll = rng.random()
        if roll < 0.28:
            text = f"{self.subject(rng)} {self.verb(rng)} {self.noun_phrase(rng)}{self.prepositional(rng)}."
        elif roll < 0.46:
            text = (
                f"{self.connectors.pick(rng)}, {self.subject(rng)} {self.verb(rng)} {self.adverbs.pick(rng)} "
                f"{self.noun_phrase(rng)}{self.prepositional(rng)}."
            )
        elif roll < 0.62:
            clause = f"{self.noun_phrase(rng, determiner='def', complement=0.2, plural=False)} {self.verb(rng)}"
            text = f"{self.subject(rng)} {self.that_verbs.pick(rng)} {elide('que', clause)} {self.noun_phrase(rng)}."
        elif roll < 0.72:
            preposition = self.prepositions.pick(rng) if rng.random() < 0.5 else "conformément à"
            text = (
                f"{self.noun_phrase(rng, preposition, 'def', complement=0.5)}, "
                f"{self.subject(rng)} {self.verb(rng)} {self.noun_phrase(rng)}."
            )
        elif roll < 0.80:
            items = [self.noun_phrase(rng, complement=0.1) for _ in range(rng.randint(2, 4))]
            text = f"{self.subject(rng)} {self.verb(rng)} {', '.join(items[:-1])} et {items[-1]}."
        elif roll < 0.88:
            text = (
                f"le {self.text_date(rng)}, {self.subject(rng)} a {self.participles.pick(rng)} "
                f"{self.noun_phrase(rng)}{self.prepositional(rng)}."
            )
        elif roll < 0.93:
            text = (
                f"Je vous serais reconnaissant de bien vouloir {self.infinitives.pick(rng)} "
                f"{self.noun_phrase(rng, complement=0.5)}."
            )
        elif roll < 0.97:
            inner = f"{self.subject(rng)} {self.verb(rng)} {self.noun_phrase(rng)}"
            text = f"{self.subject(rng)} a déclaré : « {capitalise(inner)} »."
        else:
            phrase = self.noun_phrase(rng, determiner="def", complement=0.0, plural=False)
            pronoun = "elle" if self.last_gender == "f" else "il"
            text = (
                f"Comment {phrase} peut-{pronoun} {self.infinitives.pick(rng)} "
                f"{self.noun_phrase(rng, complement=0.0)} ?"
            )
        return capitalise(text)

    def prepositional(self, rng):
        if rng.random() < 0.55:
            return " " + self.noun_phrase(rng, self.prepositions.pick(rng), "def", complement=0.3)
        return ""

    def text_date(self, rng):
        day = FIRST_DATE + datetime.timedelta(days=rng.randrange((LAST_DATE - FIRST_DATE).days + 1))
        return french_date(day)

    def paragraph(self, rng, sentences):
        return " ".join(self.sentence(rng) for _ in range(sentences))


_DETERMINERS = Zipf(["def", "dem", "poss3", "indef", "poss1", "poss6"], exponent=1.3)


def determined(kind, gender, plural, noun):
    """The determiner for a noun (le, l', cette, cet, ses, une...)."""
    vowel = starts_with_vowel(noun)
    if plural:
        return {"def": "les", "dem": "ces", "poss3": "ses", "indef": "des", "poss1": "nos", "poss6": "leurs"}[kind]
    if kind == "def":
        return "l'" if vowel else ("la" if gender == "f" else "le")
    if kind == "dem":
        return "cette" if gender == "f" else ("cet" if vowel else "ce")
    if kind == "poss3":
        return "sa" if gender == "f" and not vowel else "son"
    if kind == "indef":
        return "une" if gender == "f" else "un"
    if kind == "poss1":
        return "notre"
    return "leur"


def attach(preposition, determiner, phrase):
    """preposition + determiner + phrase, with French contractions (de le: du, à les: aux, de une: d'une)."""
    head = determiner
    if preposition:
        last = preposition.rsplit(" ", 1)[-1]
        before = preposition[: -len(last)]
        if last == "de":
            head = {"le": "du", "les": "des", "des": "de"}.get(determiner) or elide("de", determiner)
        elif last == "à":
            head = {"le": "au", "les": "aux"}.get(determiner) or f"à {determiner}"
        else:
            head = f"{last} {determiner}"
        head = before + head
    if head.endswith("'"):
        return head + phrase
    if head == "de" and starts_with_vowel(phrase):
        return "d'" + phrase
    return f"{head} {phrase}"


def elide(word, following):
    """de, que, le, la before a vowel: d', qu', l'."""
    if starts_with_vowel(following):
        return {"de": "d'", "que": "qu'", "le": "l'", "la": "l'"}.get(word, word + " ") + following
    return f"{word} {following}"


def capitalise(text):
    return text[:1].upper() + text[1:]


def french_date(day):
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


# ---------------------------------------------------------------------------
# Authority records
# ---------------------------------------------------------------------------


def _countries():
    """[(name, "de ..." form)], e.g. ("Arménie", "de l'Arménie"), ("Pays-Bas", "des Pays-Bas")."""
    # Names with spaces (Afrique du Sud) were split with the rest: a word without ":" joins the next.
    joined, pending = [], ""
    for token in " ".join(COUNTRIES).split(" "):
        if ":" in token:
            joined.append((pending + " " + token).strip() if pending else token)
            pending = ""
        else:
            pending = (pending + " " + token).strip()
    result = []
    for entry in joined:
        name, _sep, article = entry.partition(":")
        result.append((name, attach("de", article, name) if article else elide("de", name)))
    return result


def _cities():
    cities, skip = [], False
    for index, word in enumerate(CITIES):
        if skip:
            skip = False
            continue
        following = CITIES[index + 1] if index + 1 < len(CITIES) else ""
        if (word, following) in _JOINED_CITIES:
            cities.append(f"{word} {following}")
            skip = True
        else:
            cities.append(word)
    return list(dict.fromkeys(cities))


COUNTRY_NAMES = _countries()
CITY_NAMES = _cities()


class Record:
    """A person, organisation, place or cited document as the corpus refers to it."""

    __slots__ = ("slug", "name", "kind", "article", "function", "civility", "organisation", "symbol", "year")

    def __init__(self, slug, name, kind, article="", function="", civility="", symbol="", year=None):
        self.slug = slug
        self.name = name
        self.kind = kind
        self.article = article  # le, la, l', les, or "" for a person
        self.function = function  # a person's title, as a letter writes it
        self.civility = civility  # M. or Mme
        self.organisation = None  # the organisation a person may write for
        self.symbol = symbol
        self.year = year

    def of(self):
        """'de Jean Dupont', "d'Élise Aubert", 'du Ministère...', "de l'Ambassade..."."""
        return attach("de", self.article, self.name) if self.article else elide("de", self.name)

    def to(self):
        """'à Jean Dupont', 'au Ministère...', "à l'Ambassade..."."""
        return attach("à", self.article, self.name) if self.article else f"à {self.name}"

    def with_article(self):
        if not self.article:
            return self.name
        return self.article + self.name if self.article.endswith("'") else f"{self.article} {self.name}"

    def url(self):
        section = {"person": "people", "organisation": "organisations", "group": "organisations"}[self.kind]
        return f"{BASE_URL}/{section}/{self.slug}/"


def unique_slug(text, taken, limit=100):
    # As the archive's own slugs: "l'Arménie" -> l-armenie, "S/RES/822" -> s-res-822.
    base = slugify(text.replace("'", "-").replace("/", "-"))[:limit].strip("-") or "x"
    slug, number = base, 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    taken.add(slug)
    return slug


def make_agents(rng, count):
    """People and organisations, ranked: the first is the most prolific sender (a person)."""
    countries = COUNTRY_NAMES
    taken = set()
    organisations = []
    for article, name in INTERNATIONAL_ORGANISATIONS:
        organisations.append(Record(unique_slug(name, taken), name, "organisation", article))
    for form_article, form in ORGANISATION_FORMS:
        for _name, of_country in countries:
            name = form.replace("de {country}", of_country)
            organisations.append(Record(unique_slug(name, taken), name, "organisation", form_article))
    organisations_wanted = min(len(organisations), max(1, count * 3 // 10))
    rng.shuffle(organisations)
    organisations = organisations[:organisations_wanted]

    people = []
    names_taken = set()
    first_names = [(name, "M.") for name in FIRST_NAMES_M] + [(name, "Mme") for name in FIRST_NAMES_F]
    while len(people) < count - len(organisations):
        first, civility = rng.choice(first_names)
        name = f"{first} {rng.choice(SURNAMES)}"
        if rng.random() < 0.08:
            name = f"{first} {rng.choice(SURNAMES)}-{rng.choice(SURNAMES)}"
        if name in names_taken:
            continue
        names_taken.add(name)
        _country, of_country = rng.choice(countries)
        function = rng.choice(PERSON_FUNCTIONS).replace("de {country}", of_country)
        people.append(Record(unique_slug(name, taken), name, "person", function=function, civility=civility))
    agents = people + organisations
    rng.shuffle(agents)
    first_person = next(index for index, agent in enumerate(agents) if agent.kind == "person")
    agents[0], agents[first_person] = agents[first_person], agents[0]
    for person in people:
        person.organisation = rng.choice(organisations) if rng.random() < 0.6 else None
    return agents


def make_places(rng, count):
    taken = set()
    names = list(CITY_NAMES)
    roots = list(PLACE_ROOTS)
    while len(names) < count:
        name = rng.choice(roots) + rng.choice(PLACE_SUFFIXES)
        if name not in names:
            names.append(name)
    names = names[:count]
    places = [Record(unique_slug(name, taken), name, "city") for name in names]
    # The big diplomatic cities first: they are where most letters are written.
    head, tail = places[:12], places[12:]
    rng.shuffle(tail)
    return head + tail


def make_cited_documents(rng, count):
    taken = set()
    documents = []

    def add(title, symbol, kind, year):
        documents.append(Record(unique_slug(symbol or title, taken), title, kind, symbol=symbol, year=year))

    for title in CONVENTIONS:
        add(title, "", "convention", rng.randint(1945, 1997))
    council = sorted(rng.sample(range(660, 2800), min(2140, count * 45 // 100)))
    for number in council:
        year = 1990 + (number - 660) * 36 // 2140
        add(f"Résolution {number} ({year}) du Conseil de sécurité", f"S/RES/{number} ({year})", "resolution", year)
    assembly = set()
    while len(assembly) < count * 25 // 100:
        year = rng.randint(1990, 2025)
        assembly.add((year, rng.randint(1, 300)))
    for year, number in sorted(assembly):
        session = year - 1945
        add(
            f"Résolution {session}/{number} de l'Assemblée générale",
            f"A/RES/{session}/{number}",
            "resolution",
            year,
        )
    while len(documents) < count:
        year = rng.randint(1990, 2025)
        roll = rng.random()
        topic = rng.choice(TOPICS)
        if roll < 0.5:
            number = rng.randint(1, 999)
            add(f"Rapport du Secrétaire général sur {topic}", f"S/{year}/{number}", "report", year)
        elif roll < 0.75:
            city = rng.choice(CITY_NAMES[:40])
            add(f"Déclaration de {city} sur {topic} ({year})", "", "declaration", year)
        elif roll < 0.9:
            add(
                f"Décision du Conseil ministériel sur {topic} ({year})",
                f"MC.DEC/{rng.randint(1, 20)}/{year % 100:02d}",
                "decision",
                year,
            )
        else:
            add(f"Accord sur {topic} ({year})", "", "agreement", year)
    documents = documents[:count]
    rng.shuffle(documents)
    return documents


def citation_phrase(document):
    """How a letter names a cited document: 'la résolution 822 (1993) du Conseil de sécurité'."""
    title = document.name
    if document.kind == "resolution" or document.kind in ("report", "declaration", "decision"):
        return ("le " if document.kind == "report" else "la ") + title[:1].lower() + title[1:]
    if document.kind == "agreement":
        return "l'" + title[:1].lower() + title[1:]
    return elide("la", title)


# ---------------------------------------------------------------------------
# Letters
# ---------------------------------------------------------------------------


class CorpusGenerator:
    """Letters, one at a time, in chronological order; everything drawn from one seeded generator."""

    def __init__(self, letters, seed, agents=5000, places=500, cited=2000, prolific_share=0.132):
        self.count = letters
        self.rng = random.Random(seed)
        self.vocabulary = Vocabulary()
        self.agents = make_agents(self.rng, agents)
        self.places = make_places(self.rng, places)
        self.cited = make_cited_documents(self.rng, cited)
        # Replies (a tenth of the letters) are sent by the recipient of an earlier letter: the first
        # sender's share of the other letters is a little above the 12 % it ends with.
        self.senders = Zipf(self.agents, exponent=1.0, first_share=prolific_share)
        recipients = list(self.agents)
        random.Random(seed + 1).shuffle(recipients)
        self.recipients = Zipf(recipients, exponent=1.1)
        self.places_written = Zipf(self.places, exponent=1.0)
        self.citations = Zipf(self.cited, exponent=0.9)
        self.mentioned_places = Zipf(self.places[::-1], exponent=0.7)
        self.mentioned_agents = Zipf(self.agents[::-1], exponent=0.7)
        # (reference, sender, recipient) of the last letters: a reply answers one of them.
        self.recent = collections.deque(maxlen=500)

    def dates(self):
        """Day numbers (ordinals) of every letter, sorted, with their precision: the file is chronological."""
        span = (LAST_DATE - FIRST_DATE).days + 1
        first = FIRST_DATE.toordinal()
        drawn = []
        for _ in range(self.count):
            day = datetime.date.fromordinal(first + self.rng.randrange(span))
            roll = self.rng.random()
            if roll < 0.85:
                precision, start, end = "day", day, day
            elif roll < 0.95:
                precision = "month"
                start = day.replace(day=1)
                end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
            else:
                precision, start, end = "year", datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)
            drawn.append((start.toordinal(), end.toordinal(), precision))
        drawn.sort()
        return drawn

    def letters(self):
        """The letters, as dictionaries in the export's shape, one at a time."""
        dates = self.dates()
        index = 0
        source_number = 0
        while index < len(dates):
            source_number += 1
            size = 1 + int(self.rng.expovariate(1 / 1.5))  # 1 item in half the sources, up to 12
            size = min(size, 12, len(dates) - index)
            source = self.source_reference(source_number, dates[index])
            first_in_source = None  # (reference, sender, recipient)
            for position in range(1, size + 1):
                letter, sender, recipient = self.letter(index + 1, dates[index], source, position, first_in_source)
                entry = (self.letter_reference(letter), sender, recipient)
                if position == 1:
                    first_in_source = entry
                self.recent.append(entry)
                index += 1
                yield letter

    def source_reference(self, number, dated):
        year = datetime.date.fromordinal(dated[0]).year
        symbol = f"CD/{year}/{number:05d}"
        slug = f"cd-{year}-{number:05d}"
        return {
            "id": slug,
            "title": f"Recueil de correspondance diplomatique, {year}, fascicule {number}",
            "symbol": symbol,
            "url": f"{BASE_URL}/sources/{slug}/",
            "text_url": None,
        }

    def letter(self, number, dated, source, position, first_in_source):
        rng = self.rng
        vocabulary = self.vocabulary
        start, end, precision = dated
        date_from = datetime.date.fromordinal(start)
        date_to = datetime.date.fromordinal(end)
        if precision == "day":
            date_as_written, display = french_date(date_from), date_from.isoformat()
        elif precision == "month":
            date_as_written, display = f"{MONTHS[date_from.month - 1]} {date_from.year}", date_from.strftime("%Y-%m")
        else:
            date_as_written, display = str(date_from.year), str(date_from.year)

        in_reply_to = annex_of = None
        if first_in_source is not None and rng.random() < 0.45:
            kind = "annex"
            annex_of, sender, _recipient = first_in_source
            recipient = self.recipients.pick(rng)
        elif self.recent and rng.random() < 0.1:
            kind = "reply"
            in_reply_to, recipient, sender = self.recent[rng.randrange(len(self.recent))]
        else:
            sender = self.senders.pick(rng)
            recipient = self.recipients.pick(rng)
            roll = rng.random()
            if sender.kind != "person" and roll < 0.6:
                kind = "note_verbale"
            elif roll < 0.05:
                kind = "report"
            elif roll < 0.10:
                kind = "statement"
            elif roll < 0.13:
                kind = "covering_letter"
            else:
                kind = "letter"
        while recipient is sender:
            recipient = self.recipients.pick(rng)

        participants = {role: [] for role in ROLES}
        participants["sender"].append(self.participant(sender))
        participants["recipient"].append(self.participant(recipient))
        used = {"sender": {sender.slug}, "recipient": {recipient.slug}}
        if rng.random() < 0.2:
            other = self.recipients.pick(rng)
            if other is not sender and other.slug not in used["recipient"]:
                participants["recipient"].append(self.participant(other))
                used["recipient"].add(other.slug)
        if sender.kind != "person" and rng.random() < 0.5:
            signatory = self.senders.pick(rng)
            if signatory.kind == "person":
                participants["signatory"].append(self.participant(signatory))
        copies = set()
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            copy = self.recipients.pick(rng)
            if copy is not sender and copy.slug not in used["recipient"] and copy.slug not in copies:
                copies.add(copy.slug)
                participants["copy"].append(self.participant(copy))

        place = self.places_written.pick(rng) if rng.random() < 0.9 else None
        cited = []
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3))):
            document = self.citations.pick(rng)
            if document not in cited:
                cited.append(document)

        slug = f"lettre-{number:07d}"
        title = f"{KIND_LABELS[kind]} {sender.of()} {recipient.to()}, {date_as_written}"
        paragraphs, footnotes, mentioned = self.text(kind, sender, cited)
        summary = (
            f"{capitalise(sender.with_article())} {vocabulary.verb(rng)} "
            f"{vocabulary.noun_phrase(rng, complement=0.6)} et {vocabulary.that_verbs.pick(rng)} "
            f"{vocabulary.noun_phrase(rng, determiner='def', complement=0.3)}."
        )
        citations = [{**self.cited_reference(document), "quote": citation_phrase(document)} for document in cited]
        place_mentions = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            mentioned_place = self.mentioned_places.pick(rng)
            if mentioned_place.slug not in [p["id"] for p in place_mentions]:
                place_mentions.append(
                    {**self.place_reference(mentioned_place), "name_as_written": mentioned_place.name}
                )
        agent_mentions = []
        for agent in mentioned:
            if agent.slug not in [a["id"] for a in agent_mentions]:
                agent_mentions.append(
                    {
                        "id": agent.slug,
                        "name": agent.name,
                        "kind": agent.kind,
                        "url": agent.url(),
                        "name_as_written": agent.name,
                    }
                )

        letter = {
            "id": slug,
            "url": f"{BASE_URL}/letters/{slug}/",
            "title": title,
            "kind": kind,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "date_precision": precision,
            "date_certainty": "exact" if rng.random() < 0.95 else "approximate",
            "date_as_written": date_as_written,
            "date_display": display,
            "language": "fr",
            "participants": participants,
            "place_written": ({**self.place_reference(place), "as_written": place.name} if place is not None else None),
            "place_as_written": place.name if place is not None else "",
            "source": {**source, "pages": f"{position * 2 - 1}-{position * 2}", "position": position},
            "cited_documents": [self.cited_reference(document) for document in cited],
            "summary": summary,
            "modified": "2026-01-01T00:00:00+00:00",
            "reference": f"N° {rng.randint(1, 99):02d}/{rng.randint(1, 999)}" if rng.random() < 0.4 else "",
            "translation_note": "Traduction non officielle" if rng.random() < 0.3 else "",
            "letterhead": "",
            "enclosures": "PJ : annexe" if kind == "covering_letter" else "",
            "editorial_note": "",
            "citations": citations,
            "mentions": {"agents": agent_mentions, "places": place_mentions},
            "paragraphs": paragraphs,
            "footnotes": footnotes,
            "thread": {"in_reply_to": in_reply_to, "replies": [], "annex_of": annex_of, "annexes": []},
            "previous_in_source": None,
            "next_in_source": None,
        }
        return letter, sender, recipient

    def participant(self, agent):
        rng = self.rng
        if agent.kind == "person":
            organisation = agent.organisation
            name_as_written = f"{agent.civility} {agent.name}" if rng.random() < 0.5 else agent.name
            title = agent.function if rng.random() < 0.8 else ""
            on_behalf = organisation if organisation is not None and rng.random() < 0.5 else None
        else:
            name_as_written, title, on_behalf = agent.name, "", None
        return {
            "id": agent.slug,
            "name": agent.name,
            "kind": agent.kind,
            "name_as_written": name_as_written,
            "title_as_written": title,
            "on_behalf_of": (
                {"id": on_behalf.slug, "name": on_behalf.name, "kind": on_behalf.kind, "url": on_behalf.url()}
                if on_behalf is not None
                else None
            ),
            "identified_by_archive": False,
            "url": agent.url(),
        }

    @staticmethod
    def place_reference(place):
        return {"id": place.slug, "name": place.name, "url": f"{BASE_URL}/places/{place.slug}/"}

    @staticmethod
    def cited_reference(document):
        return {
            "id": document.slug,
            "title": document.name,
            "symbol": document.symbol,
            "url": f"{BASE_URL}/cited/{document.slug}/",
        }

    @staticmethod
    def letter_reference(letter):
        """A letter as another points to it (``exports.letter_reference``)."""
        keys = ("id", "url", "title", "kind", "date_from", "date_to", "date_precision", "date_certainty")
        return {key: letter[key] for key in (*keys, "date_as_written", "date_display")}

    def text(self, kind, sender, cited):
        """Paragraphs (150 to 600 words in all), footnotes and the agents the text names."""
        rng = self.rng
        vocabulary = self.vocabulary
        target = rng.randint(MIN_WORDS, MAX_WORDS)
        mentioned = []

        salutation = rng.choice(SALUTATIONS)
        if kind == "note_verbale":
            opening = [
                (
                    NOTE_VERBALE_OPENING.format(
                        sender=capitalise(sender.with_article()), np=vocabulary.noun_phrase(rng, complement=0.6)
                    ),
                    "opening",
                )
            ]
            closing = [(f"{rng.choice(CITY_NAMES[:12])}, le {vocabulary.text_date(rng)}", "closing")]
        else:
            opening = [
                (salutation, "opening"),
                (rng.choice(OPENINGS).format(np=vocabulary.noun_phrase(rng, complement=0.8)), "body"),
            ]
            signature = f"(Signé) {sender.name}"
            if sender.kind == "person":
                signature += f", {sender.function}"
            closing = [(rng.choice(CLOSINGS).format(salutation=salutation), "closing"), (signature, "signature")]

        # Sentences the body must hold: the citations, a rare word now and then, a person met.
        required = []
        for document in cited:
            required.append(
                f"{capitalise(vocabulary.subject(rng))} {vocabulary.that_verbs.pick(rng)} "
                f"{citation_phrase(document)}, {vocabulary.adverbs.pick(rng)} {rng.choice(PARTICIPLES)} "
                f"{attach('par', 'la', 'communauté internationale')}."
            )
        if rng.random() < RARE_WORD_PROBABILITY * len(RARE_WORDS):
            rare = RARE_WORDS[rng.randrange(len(RARE_WORDS))]
            required.append(
                f"{capitalise(vocabulary.subject(rng))} évoque également {elide('le', rare)} "
                f"{vocabulary.noun_phrase(rng, 'dans le cadre de', 'def', complement=0.0)}."
            )
        if rng.random() < 0.3:
            agent = self.mentioned_agents.pick(rng)
            mentioned.append(agent)
            required.append(
                f"{capitalise(vocabulary.subject(rng))} a rencontré {agent.with_article()} "
                f"{vocabulary.noun_phrase(rng, 'au sujet de', 'def', complement=0.3)}."
            )

        def count(text):
            return text.count(" ") + 1

        fixed = sum(count(text) for text, _kind in opening + closing) + sum(count(text) for text in required)
        body = []  # (sentence, required?)
        words = fixed
        while words < target:
            sentence = vocabulary.sentence(rng)
            if words + count(sentence) > MAX_WORDS:
                break  # no room for it; words >= MIN_WORDS here, as no sentence is 450 words long
            body.append((sentence, False))
            words += count(sentence)
        for sentence in required:
            body.insert(rng.randint(0, len(body)), (sentence, True))
        # The required sentences may push the letter past MAX_WORDS: drop drawn sentences from the end.
        index = len(body) - 1
        while words > MAX_WORDS and index >= 0:
            if not body[index][1] and words - count(body[index][0]) >= MIN_WORDS:
                words -= count(body[index][0])
                del body[index]
            index -= 1

        paragraphs = []
        page_words = 0

        def add(text, paragraph_kind):
            nonlocal page_words
            page_words += count(text)
            paragraphs.append(
                {
                    "position": len(paragraphs) + 1,
                    "kind": paragraph_kind,
                    "page": str(1 + page_words // 400),
                    "text": text,
                }
            )

        for text, paragraph_kind in opening:
            add(text, paragraph_kind)
        while body:
            length = rng.randint(2, 6)
            add(" ".join(sentence for sentence, _required in body[:length]), "body")
            body = body[length:]
        for text, paragraph_kind in closing:
            add(text, paragraph_kind)

        footnotes = []
        if rng.random() < 0.05:
            body = [p for p in paragraphs if p["kind"] == "body"]
            for marker in range(1, rng.randint(1, 2) + 1):
                paragraph = rng.choice(body)
                anchor = rng.choice(paragraph["text"].split()).strip(".,;:«»?")
                footnotes.append(
                    {
                        "marker": str(marker),
                        "paragraph": paragraph["position"],
                        "anchor": anchor,
                        "text": vocabulary.sentence(rng),
                    }
                )
        return paragraphs, footnotes, mentioned


def write_corpus(stream, letters, seed, **sizes):
    """Write the corpus to a text stream, one letter per line; return the number of letters written."""
    generator = CorpusGenerator(letters, seed, **sizes)
    stream.write(f'{{"count":{letters},"next":null,"previous":null,"results":[\n')
    written = 0
    for letter in generator.letters():
        if written:
            stream.write(",\n")
        stream.write(json.dumps(letter, ensure_ascii=False, separators=(",", ":")))
        written += 1
    stream.write("\n]}\n")
    return written


class Command(BaseCommand):
    help = "Write a deterministic synthetic corpus of letters in the archive's JSON import format."

    def add_arguments(self, parser):
        parser.add_argument("--letters", type=int, default=100_000, help="Number of letters (default 100,000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same file.")
        parser.add_argument("--output", default="-", help="File to write (default: standard output).")
        parser.add_argument("--agents", type=int, default=5000, help="People and organisations (default 5,000).")
        parser.add_argument("--places", type=int, default=500, help="Places of writing (default 500).")
        parser.add_argument("--cited", type=int, default=2000, help="Cited documents (default 2,000).")
        parser.add_argument("--force", action="store_true", help="Overwrite the output file if it exists.")

    def handle(self, letters, seed, output, agents, places, cited, force, **options):
        if letters < 1:
            raise CommandError("--letters must be at least 1.")
        if agents < 10 or places < 1 or cited < 30:
            raise CommandError(
                "Give at least 10 agents (--agents), 1 place (--places) and 30 cited documents (--cited)."
            )
        sizes = {"agents": agents, "places": places, "cited": cited}
        started = time.perf_counter()
        if output == "-":
            written = write_corpus(sys.stdout, letters, seed, **sizes)
            return
        path = Path(output)
        if path.exists() and not force:
            raise CommandError(f"{path} exists: choose another --output, or add --force to overwrite it.")
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist: create it first.")
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="\n") as stream:
            written = write_corpus(stream, letters, seed, **sizes)
        partial.replace(path)
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
        if options["verbosity"] < 1:
            return
        self.stderr.write(
            f"Wrote {written} letters to {path} ({size / 1e6:.1f} MB) in {elapsed:.1f} s "
            f"({written / elapsed:.0f} letters/s)."
        )
