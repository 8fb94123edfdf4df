# SPDX-License-Identifier: Apache-2.0
"""The demo's English words: each French text of the templates, and its translation.

``tests/demo`` checks that every ``_("…")`` of the templates has an entry here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ENGLISH"]

ENGLISH: Final[dict[str, str]] = {
    # Shared frame.
    "Démo Sceau": "Sceau demo",
    "Aller au contenu": "Skip to content",
    "Démonstration de Sceau : tout reste sur cette machine.": (
        "Sceau demonstration: everything stays on this machine."
    ),
    "Démo": "Demo",
    "Langue": "Language",
    "Ma Banque": "Ma Banque",
    "Téléphone de Marie": "Marie’s phone",
    "Boutique": "Shop",
    "Back-office": "Back-office",
    "SMS reçus": "Text messages",
    "Démonstration de Sceau, authentification forte des clients (DSP2), logiciel libre sous "
    "licence Apache-2.0. Tout reste sur cette machine : aucune donnée ne quitte la boucle "
    "locale.": (
        "Demonstration of Sceau, strong customer authentication (PSD2), free software under the "
        "Apache-2.0 licence. Everything stays on this machine: no data leaves the loopback."
    ),
    "Erreur :": "Error:",
    "Erreur": "Error",
    "Accueil": "Home",
    "Actualiser": "Refresh",
    "Annuler": "Cancel",
    "Continuer": "Continue",
    "Effacer": "Delete",
    "Code": "Code",
    "Type": "Type",
    "Date": "Date",
    "Message": "Message",
    "Numéro": "Number",
    "Actions": "Actions",
    "Appareil": "Device",
    "État": "State",
    "le": "on",
    "pour": "for",
    "Dans": "In",
    "Sur le": "On",
    # Home page.
    "Sceau en cinq minutes": "Sceau in five minutes",
    "Sceau valide chaque opération sensible de votre banque sur votre téléphone, avec un code "
    "à 4 chiffres ou la biométrie : c’est ce que les banques françaises appellent Sécur’Pass. "
    "Cette démo fait tourner, sur cette machine, le vrai serveur Sceau, une banque, le "
    "téléphone de sa cliente et le back-office.": (
        "Sceau approves each sensitive operation of your bank on your phone, with a 4-digit code "
        "or biometrics: what French banks call Sécur’Pass. This demo runs, on this machine, the "
        "real Sceau server, a bank, its customer’s phone and the back-office."
    ),
    "L’histoire à jouer": "The story to play",
    "Connectez-vous à": "Sign in to",
    "avec l’identifiant et le mot de passe ci-contre.": (
        "with the username and password shown here."
    ),
    "Dans « Sécurité », activez Sceau : la banque affiche un code d’activation et son QR code ; "
    "un code à usage unique arrive par SMS.": (
        "In “Security”, activate Sceau: the bank shows an activation code and its QR code; a "
        "one-time code arrives by text message."
    ),
    "téléphone simulé de Marie": "Marie’s simulated phone",
    ", saisissez (ou scannez) le code, puis le code SMS, et choisissez votre code Sceau : un "
    "code trop simple est refusé.": (
        ", type (or scan) the code, then the text message code, and choose your Sceau code: a "
        "code too simple is refused."
    ),
    "Faites un virement : le téléphone affiche exactement ce que la banque a signé ; validez "
    "avec votre code, refusez, ou dites « Ce n’est pas moi ».": (
        "Make a transfer: the phone shows exactly what the bank signed; approve with your code, "
        "decline, or say “This wasn’t me”."
    ),
    "Ajoutez un bénéficiaire, signez un document, puis déconnectez-vous et reconnectez-vous : "
    "la page affiche un nombre à saisir sur le téléphone.": (
        "Add a payee, sign a document, then sign out and in again: the page shows a number to "
        "type on the phone."
    ),
    "Achetez un livre à la": "Buy a book at the",
    "et payez par carte : votre banque vous demande de valider le paiement (3-D Secure).": (
        "and pay by card: your bank asks you to approve the payment (3-D Secure)."
    ),
    "Essayez cinq codes faux : l’authentification se bloque. L’opérateur du": (
        "Try five wrong codes: authentication locks. The operator of the"
    ),
    "back-office": "back-office",
    "la débloque, après avoir validé sa propre connexion avec son Sceau.": (
        "unlocks it, after approving their own sign-in with their Sceau."
    ),
    "Identifiants de démonstration": "Demo credentials",
    "Cliente": "Customer",
    "Marie Dupont": "Marie Dupont",
    "Identifiant": "Username",
    "Mot de passe": "Password",
    "Opérateur du back-office": "Back-office operator",
    "Son Sceau": "Their Sceau",
    "Les acteurs": "Who is who",
    "La banque (le « relying party ») : elle demande à Sceau de faire valider chaque "
    "opération, puis vérifie le résultat signé avant d’agir.": (
        "The bank (the relying party): it asks Sceau to have each operation approved, then "
        "verifies the signed result before acting."
    ),
    "Téléphone simulé": "Simulated phone",
    "Le SDK de l’appareil, en Python, tourne dans ce processus : votre code ne va qu’à cet "
    "appareil simulé, jamais au serveur ni dans un journal.": (
        "The device SDK, in Python, runs in this process: your code goes only to this simulated "
        "device, never to the server nor to a log."
    ),
    "Librairie des Quais": "Librairie des Quais",
    "Un marchand en ligne : le paiement par carte passe par une page de validation de la "
    "banque, comme 3-D Secure.": (
        "An online merchant: the card payment goes through the bank’s approval page, like "
        "3-D Secure."
    ),
    "L’opérateur voit les utilisateurs, les appareils, les opérations et leurs preuves, le "
    "journal d’audit chaîné ; il débloque et révoque.": (
        "The operator sees users, devices, operations and their evidence, the chained audit "
        "log; they unlock and revoke."
    ),
    "Les SMS que Sceau envoie (codes d’activation, alertes) arrivent ici au lieu d’un vrai "
    "téléphone.": (
        "The text messages Sceau sends (activation codes, alerts) arrive here instead of a real "
        "phone."
    ),
    "Serveur Sceau": "Sceau server",
    "Le vrai serveur, sur": "The real server, on",
    " : son API, ses clés publiques": ": its API, its public keys",
    "Le vrai": "The real",
    "fonctionne aussi contre lui : activez-le avec le contenu du QR code de Ma Banque.": (
        "works against it too: activate it with the content of Ma Banque’s QR code."
    ),
    # Bank.
    "Ma Banque — paiement sécurisé": "Ma Banque — secure payment",
    "paiement sécurisé (3-D Secure)": "secure payment (3-D Secure)",
    "banque en ligne": "online banking",
    "Mes comptes": "My accounts",
    "Virement": "Transfer",
    "Bénéficiaires": "Payees",
    "Signature": "Signature",
    "Sécurité": "Security",
    "Déconnexion": "Sign out",
    "Bonjour": "Hello",
    "Sceau n’est pas encore activé.": "Sceau is not activated yet.",
    "Activez-le dans": "Activate it in",
    "pour valider vos virements, bénéficiaires, signatures et paiements sur votre téléphone.": (
        "to approve your transfers, payees, signatures and payments on your phone."
    ),
    "Compte courant": "Current account",
    "Faire un virement": "Make a transfer",
    "Ajouter un bénéficiaire": "Add a payee",
    "Dernières opérations": "Latest transactions",
    "Libellé": "Description",
    "Montant": "Amount",
    "Ma carte": "My card",
    "Pour la démo, son numéro complet est": "For the demo, its full number is",
    " : utilisez-le à la": ": use it at the",
    "Sceau": "Sceau",
    "Appareil actif :": "Active device:",
    "Aucun appareil actif.": "No active device.",
    "Gérer Sceau": "Manage Sceau",
    "Signer un document": "Sign a document",
    "Connexion": "Sign in",
    "Connexion à votre banque en ligne": "Sign in to your online banking",
    "Identifiant ou mot de passe incorrect.": "Wrong username or password.",
    "Se connecter": "Sign in",
    "Avec Sceau": "With Sceau",
    "Une fois Sceau activé, chaque connexion se valide aussi sur votre téléphone : cette page "
    "affiche un nombre à deux chiffres, que vous saisissez dans l’application.": (
        "Once Sceau is active, each sign-in is also approved on your phone: this page shows a "
        "two-digit number that you type in the app."
    ),
    "Identifiants de la démo : voir la page d’accueil ou le terminal.": (
        "Demo credentials: see the home page or the terminal."
    ),
    "Vos bénéficiaires": "Your payees",
    "Nom du bénéficiaire": "Payee’s name",
    "IBAN": "IBAN",
    "Par exemple FR24 3000 3012 3400 0112 2334 455": (
        "For example FR24 3000 3012 3400 0112 2334 455"
    ),
    "Ajouter avec Sceau": "Add with Sceau",
    "Sécurité : votre Sceau": "Security: your Sceau",
    "Sceau valide vos opérations sensibles sur votre téléphone, avec votre code à 4 chiffres ou "
    "la biométrie. Votre code n’est enregistré nulle part : ni à la banque, ni sur le "
    "téléphone.": (
        "Sceau approves your sensitive operations on your phone, with your 4-digit code or "
        "biometrics. Your code is stored nowhere: neither at the bank nor on the phone."
    ),
    "Vos appareils": "Your devices",
    "Activé le": "Activated on",
    "Bloqué définitivement": "Permanently blocked",
    "Bloqué jusqu’au": "Locked until",
    "Retirer cet appareil": "Remove this device",
    "Aucun appareil actif : Sceau n’est pas encore activé.": (
        "No active device: Sceau is not activated yet."
    ),
    "Activer Sceau sur un nouvel appareil": "Activate Sceau on a new device",
    "Activer Sceau": "Activate Sceau",
    "Un nouvel appareil doit être approuvé par l’actuel (sinon, il attend la fin d’un délai de "
    "sécurité). Code oublié ? Réinitialisez-le dans l’application Sceau (« Code oublié »), avec "
    "la biométrie ou par SMS.": (
        "A new device must be approved by the current one (otherwise it waits for a security "
        "delay to end). Forgot your code? Reset it in the Sceau app (“Forgot your code”), with "
        "biometrics or by text message."
    ),
    "un nouveau code.": (
        "A new device replaces the current one. Forgot your code? Activate Sceau again here: you "
        "will choose a new code."
    ),
    "Activez Sceau sur votre téléphone": "Activate Sceau on your phone",
    "Ouvrez l’application Sceau de votre téléphone — ici, le": (
        "Open the Sceau app on your phone — here, the"
    ),
    "téléphone simulé": "simulated phone",
    "Scannez ce QR code, ou saisissez ce code d’activation :": (
        "Scan this QR code, or type this activation code:"
    ),
    "Copier le code": "Copy the code",
    "Saisissez le code à 6 chiffres reçu par SMS au": (
        "Type the 6-digit code received by text message at"
    ),
    "voir les SMS reçus": "see the text messages",
    "Choisissez votre code Sceau à 4 chiffres, deux fois.": (
        "Choose your 4-digit Sceau code, twice."
    ),
    "Ce code d’activation expire dans": "This activation code expires in",
    "Ne communiquez ce code à personne : votre banque ne vous le demandera jamais.": (
        "Never share this code: your bank will never ask you for it."
    ),
    "Contenu du QR code": "QR code content",
    "Empreinte de la clé du serveur :": "Server key fingerprint:",
    "QR code d’activation de Sceau": "Sceau activation QR code",
    "Signature électronique": "Electronic signature",
    "Pages": "Pages",
    "Empreinte SHA-256": "SHA-256 fingerprint",
    "Signer": "Sign",
    "Document signé": "Document signed",
    "Votre téléphone affichera le titre du document et le début de son empreinte : ce que vous "
    "signez, c’est exactement ce texte.": (
        "Your phone will show the document’s title and the start of its fingerprint: what you "
        "sign is exactly this text."
    ),
    "Signer à nouveau avec Sceau": "Sign again with Sceau",
    "Signer avec Sceau": "Sign with Sceau",
    "Depuis votre compte courant": "From your current account",
    "Solde disponible :": "Available balance:",
    "Bénéficiaire": "Payee",
    "Un nouveau bénéficiaire s’ajoute d’abord dans": "A new payee is first added in",
    "Montant en euros": "Amount in euros",
    "Par exemple 150,00": "For example 150.00",
    "Référence (facultatif)": "Reference (optional)",
    "Valider le virement avec Sceau": "Approve the transfer with Sceau",
    "Comment ça marche": "How it works",
    "La banque demande à Sceau de faire valider ce virement. Votre téléphone affiche exactement "
    "le montant, le bénéficiaire et son IBAN masqué, signés par le serveur : un centime ou un "
    "chiffre changé, et la validation ne vaut plus rien.": (
        "The bank asks Sceau to have this transfer approved. Your phone shows exactly the "
        "amount, the payee and their masked IBAN, signed by the server: change one cent or one "
        "digit and the approval is worth nothing."
    ),
    "Délai pour valider sur le téléphone": "Time to approve on the phone",
    "Normal": "Normal",
    "Court, pour voir une expiration": "Short, to see an expiry",
    "Une opération non validée à temps expire : rien n’est fait.": (
        "An operation not approved in time expires: nothing is done."
    ),
    # The waiting page.
    "Validation en attente": "Waiting for approval",
    "Paiement sécurisé par votre banque": "Payment secured by your bank",
    "Marchand": "Merchant",
    "Carte": "Card",
    "Validez votre connexion sur votre téléphone": "Approve your sign-in on your phone",
    "Validez ce virement sur votre téléphone": "Approve this transfer on your phone",
    "Validez l’ajout de ce bénéficiaire sur votre téléphone": (
        "Approve this new payee on your phone"
    ),
    "Signez ce document sur votre téléphone": "Sign this document on your phone",
    "Validez ce paiement sur votre téléphone": "Approve this payment on your phone",
    "Demande envoyée à votre appareil": "Request sent to your device",
    "Ouvrez Sceau sur votre téléphone pour la valider.": "Open Sceau on your phone to approve it.",
    "Saisissez ce nombre sur votre téléphone :": "Type this number on your phone:",
    "Temps restant :": "Time left:",
    "Passé ce délai, l’opération expire et rien n’est fait.": (
        "After that, the operation expires and nothing is done."
    ),
    "Ce que votre téléphone affiche": "What your phone shows",
    "En attente de votre validation…": "Waiting for your approval…",
    "Ouvrir le téléphone simulé": "Open the simulated phone",
    "Résultat signé par Sceau, vérifié par la banque": (
        "Result signed by Sceau, verified by the bank"
    ),
    "Avant d’agir, la banque a vérifié la signature du résultat (JWS ES256) avec les clés "
    "publiées par le serveur Sceau, et qu’il porte sur l’opération qu’elle a demandée.": (
        "Before acting, the bank verified the result’s signature (JWS ES256) with the keys the "
        "Sceau server publishes, and that it is about the operation it asked for."
    ),
    "Décision signée": "Signed decision",
    "Facteurs": "Factors",
    "Signé le": "Signed on",
    "Clé du serveur": "Server key",
    "Empreinte de l’opération": "Operation digest",
    "Le JWS du résultat": "The result JWS",
    "Se connecter à nouveau": "Sign in again",
    "Ce qui se passe": "What happens",
    "Le nombre affiché ici ne part pas vers votre téléphone : en le saisissant, vous prouvez que "
    "c’est bien vous qui êtes devant cette page.": (
        "The number shown here is not sent to your phone: by typing it, you prove that you are "
        "the one in front of this page."
    ),
    "Sceau a signé l’opération : votre téléphone vérifie cette signature avant de l’afficher.": (
        "Sceau signed the operation: your phone checks this signature before showing it."
    ),
    "Vous validez avec votre code ou la biométrie : le téléphone signe exactement ces lignes.": (
        "You approve with your code or biometrics: the phone signs exactly these lines."
    ),
    "La banque reçoit un résultat signé et le vérifie avec les clés publiées par Sceau avant "
    "d’agir.": (
        "The bank receives a signed result and verifies it with the keys Sceau publishes before "
        "acting."
    ),
    "Retour à mes comptes": "Back to my accounts",
    "Retour chez Librairie des Quais": "Back to Librairie des Quais",
    # The phone.
    "sur un téléphone simulé": "on a simulated phone",
    "Démo — téléphone simulé": "Demo — simulated phone",
    "Téléphone de l’opérateur": "Operator’s phone",
    "Du nouveau sur ce téléphone.": "Something new on this phone.",
    "Appareil :": "Device:",
    "Pas encore activé": "Not activated yet",
    "Saisissez le code d’activation affiché par votre banque (espace Sécurité), ou le contenu de "
    "son QR code.": (
        "Type the activation code your bank shows (Security page), or its QR code’s content."
    ),
    "Code d’activation ou contenu du QR code": "Activation code or QR code content",
    "Scanner le QR code affiché par Ma Banque (simulé)": (
        "Scan the QR code Ma Banque shows (simulated)"
    ),
    "Serveur de votre banque vérifié avec le code d’activation.": (
        "Your bank’s server verified with the activation code."
    ),
    "Empreinte de sa clé :": "Its key’s fingerprint:",
    "Nom de cet appareil": "Name of this device",
    "Code reçu par SMS": "Code received by text message",
    "6 chiffres, voir « Messages » à côté du téléphone.": (
        "6 digits, see “Messages” next to the phone."
    ),
    "Choisissez votre code Sceau (4 chiffres)": "Choose your Sceau code (4 digits)",
    "Saisissez-le une seconde fois": "Type it a second time",
    "Évitez les codes trop simples (1234, 0000, 2580…) : ils sont refusés. Votre code n’est "
    "enregistré nulle part.": (
        "Avoid codes that are too simple (1234, 0000, 2580…): they are refused. Your code is "
        "stored nowhere."
    ),
    "Activer aussi la biométrie (simulée : aucune empreinte n’est lue)": (
        "Also enable biometrics (simulated: no fingerprint is read)"
    ),
    "Annuler l’activation": "Cancel the activation",
    "Si cet appareil a été retiré, révoqué ou remplacé, ses clés ne servent plus à rien : "
    "activez Sceau à nouveau depuis votre banque.": (
        "If this device was removed, revoked or replaced, its keys are useless: activate Sceau "
        "again from your bank."
    ),
    "Effacer ce téléphone et recommencer": "Erase this phone and start again",
    "Contactez votre banque.": "Contact your bank.",
    "Bloqué": "Locked",
    "jusqu’au": "until",
    "encore": "still",
    "déblocage…": "unlocking…",
    "Activé": "Activated",
    "Biométrie :": "Biometrics:",
    "activée (simulée)": "on (simulated)",
    "désactivée": "off",
    "Détails signés par votre banque": "Details signed by your bank",
    "Code Sceau, 4 chiffres, masqué": "Sceau code, 4 digits, hidden",
    "Effacer le dernier chiffre": "Delete the last digit",
    "Valider avec la biométrie (simulée)": "Approve with biometrics (simulated)",
    "Autres opérations en attente": "Other pending operations",
    "Aucune opération en attente.": "No pending operation.",
    "Les demandes de votre banque s’affichent ici dès qu’elles arrivent.": (
        "Your bank’s requests show here as soon as they arrive."
    ),
    "À côté du téléphone": "Next to the phone",
    "Messages (SMS)": "Messages (text)",
    "Reçus au": "Received at",
    "Aucun SMS pour l’instant.": "No text message yet.",
    "Tous les SMS reçus": "All text messages",
    "Ce qui tourne ici": "What runs here",
    "Ce téléphone est simulé : le SDK Sceau de l’appareil (Python) tourne dans le processus de "
    "la démo, avec son trousseau de clés sous le répertoire de données.": (
        "This phone is simulated: Sceau’s device SDK (Python) runs in the demo’s process, with "
        "its keystore under the data directory."
    ),
    "Le code que vous tapez ne va qu’à cet appareil simulé : il n’est ni enregistré, ni "
    "journalisé, ni envoyé au serveur. L’appareil l’aveugle (OPRF) puis signe l’opération avec "
    "une clé dérivée de votre code et avec sa propre clé.": (
        "The code you type goes only to this simulated device: it is never stored, logged or "
        "sent to the server. The device blinds it (OPRF), then signs the operation with a key "
        "derived from your code and with its own key."
    ),
    "Chaque opération affichée a d’abord été vérifiée avec la clé du serveur épinglée à "
    "l’activation.": (
        "Each operation shown was first verified with the server key pinned at activation."
    ),
    "Ce téléphone n’a pas d’appareil Sceau actif : activez Sceau depuis votre banque.": (
        "This phone has no active Sceau device: activate Sceau from your bank."
    ),
    "Votre code n’est écrit nulle part : ni votre banque, ni Sceau, ni ce téléphone ne peuvent "
    "vous le redonner. Prouvez que c’est bien vous, puis choisissez un nouveau code à 4 "
    "chiffres : il est aussitôt utilisable, et l’ancien ne l’est plus.": (
        "Your code is written nowhere: neither your bank, nor Sceau, nor this phone can give it "
        "back to you. Prove that it is you, then choose a new 4-digit code: it is usable at once, "
        "and the old one no longer is."
    ),
    "Votre authentification est bloquée définitivement : seule votre banque peut la débloquer.": (
        "Your authentication is permanently blocked: only your bank can unblock it."
    ),
    "Avec la biométrie": "With biometrics",
    "Choisissez votre nouveau code (4 chiffres)": "Choose your new code (4 digits)",
    "Nouveau code": "New code",
    "Réinitialiser avec la biométrie (simulée)": "Reset with biometrics (simulated)",
    "Par SMS et mot de passe": "By text message and password",
    "Un code à 6 chiffres vient d’être envoyé par SMS à votre numéro (voir « Messages »). Il "
    "expire dans": (
        "A 6-digit code was just sent by text message to your number (see “Messages”). It "
        "expires in"
    ),
    "Mot de passe de votre banque en ligne": "Your online-banking password",
    "Un code SMS et cet appareil sont deux fois le même facteur (ce que vous possédez) : votre "
    "banque vérifie aussi ce que vous savez.": (
        "A text message code and this device are the same factor twice (what you have): your "
        "bank also checks what you know."
    ),
    "Réinitialiser mon code": "Reset my code",
    "Un code à 6 chiffres vous est envoyé par SMS au numéro que votre banque connaît ; vous "
    "saisissez aussi le mot de passe de votre banque en ligne.": (
        "A 6-digit code is sent by text message to the number your bank knows; you also type "
        "your online-banking password."
    ),
    "Recevoir un code par SMS": "Get a code by text message",
    "Réinitialiser un code, c’est renouveler un élément d’authentification : la DSP2 exige que "
    "ce soit lui-même une authentification forte, avec deux éléments de deux catégories.": (
        "Resetting a code renews an authentication element: PSD2 requires that to be strong "
        "authentication itself, with two elements of two categories."
    ),
    "Avec la biométrie : la clé de l’appareil (possession) et la clé biométrique (inhérence) "
    "signent la demande. Par SMS : la clé de l’appareil et le code SMS (possession), plus le mot "
    "de passe de votre banque en ligne (connaissance), que vérifie la banque.": (
        "With biometrics: the device key (possession) and the biometric key (inherence) sign the "
        "request. By text message: the device key and the text message code (possession), plus "
        "your online-banking password (knowledge), which the bank checks."
    ),
    "Le nouveau code, comme l’ancien, ne quitte jamais ce téléphone simulé : il est aveuglé "
    "(OPRF) avant d’être évalué par le serveur.": (
        "The new code, like the old one, never leaves this simulated phone: it is blinded (OPRF) "
        "before the server evaluates it."
    ),
    "téléphone : l’opérateur du back-office peut d’abord débloquer l’authentification.": (
        "If Sceau is locked, your password sign-in still asks for approval on the phone: the "
        "back-office operator can unlock authentication first."
    ),
    "Retour au téléphone": "Back to the phone",
    "Authentification bloquée : vous ne pouvez pas valider pour l’instant. Vous pouvez toujours "
    "refuser, ou dire que ce n’est pas vous.": (
        "Authentication locked: you cannot approve for now. You can still decline, or say this "
        "wasn’t you."
    ),
    "Un nouvel appareil attend l’approbation de celui-ci :": (
        "A new device waits for this one’s approval:"
    ),
    "en attente jusqu’au": "on hold until",
    "Attention : au prochain blocage, votre authentification sera bloquée définitivement, et "
    "seule votre banque pourra la débloquer.": (
        "Warning: at the next lock, your authentication will be blocked for good, and only your "
        "bank will be able to unblock it."
    ),
    "Validez la demande « Nouvel appareil » pour l’activer tout de suite, ou refusez-la si ce "
    "n’est pas vous ; sans réponse, il s’activera à la fin du délai d’attente.": (
        "Approve the “New device” request to activate it at once, or decline it if this is not "
        "you; without an answer, it becomes active when the hold ends."
    ),
    # Merchant.
    "boutique de démonstration": "demo shop",
    "Nos coups de cœur": "Our favourites",
    "Un marchand en ligne de démonstration : payez par carte, votre banque vous demandera de "
    "valider le paiement sur votre téléphone.": (
        "A demo online merchant: pay by card, your bank will ask you to approve the payment on "
        "your phone."
    ),
    "Acheter": "Buy",
    "Votre commande": "Your order",
    "Commande confirmée": "Order confirmed",
    "Merci ! Votre banque a validé le paiement de": "Thank you! Your bank approved the payment of",
    "Paiement non abouti": "Payment not completed",
    "Votre banque n’a pas validé ce paiement : rien n’a été débité.": (
        "Your bank did not approve this payment: nothing was charged."
    ),
    "Réessayer le paiement": "Try the payment again",
    "Commande": "Order",
    "Retour à la boutique": "Back to the shop",
    "Paiement": "Payment",
    "Paiement de votre commande": "Pay for your order",
    "Carte bancaire": "Bank card",
    "Numéro de carte": "Card number",
    "La carte de démonstration de Marie est déjà saisie.": (
        "Marie’s demo card is already filled in."
    ),
    "Nom sur la carte": "Name on the card",
    "Date d’expiration": "Expiry date",
    "Payer": "Pay",
    # SMS.
    "Le serveur Sceau de la démo n’envoie pas de vrais SMS : il les écrit dans sa boîte "
    "d’envoi, que cette page affiche (les plus récents d’abord).": (
        "The demo’s Sceau server sends no real text messages: it writes them to its outbox, "
        "which this page shows (newest first)."
    ),
    "Reçu le": "Received on",
    # Console.
    "Ma Banque — opérateurs": "Ma Banque — operators",
    "Tableau de bord": "Dashboard",
    "Utilisateurs et appareils": "Users and devices",
    "Opérations": "Operations",
    "Journal d’audit": "Audit log",
    "utilisateurs": "users",
    "appareils actifs": "active devices",
    "appareils bloqués": "locked devices",
    "opérations": "operations",
    "en attente": "pending",
    "signalées « Ce n’est pas moi »": "reported “This wasn’t me”",
    "Voir le journal d’audit": "See the audit log",
    "Débloquer ou révoquer un appareil": "Unlock or revoke a device",
    "Opérations et preuves": "Operations and evidence",
    "Connexion des opérateurs": "Operators’ sign-in",
    "Les opérateurs aussi utilisent Sceau": "Operators use Sceau too",
    "Après le mot de passe, validez votre connexion avec votre propre Sceau : la page affiche un "
    "nombre à saisir sur votre téléphone.": (
        "After the password, approve your sign-in with your own Sceau: the page shows a number "
        "to type on your phone."
    ),
    "Chaque événement de sécurité est chaîné au précédent par son empreinte ; des points de "
    "contrôle, signés par une clé gardée hors de la base, rendent toute réécriture ou "
    "troncature détectable.": (
        "Each security event is chained to the previous one by its hash; checkpoints, signed by "
        "a key kept outside the database, make any rewrite or truncation detectable."
    ),
    "Signer un point de contrôle maintenant": "Sign a checkpoint now",
    "Les 200 entrées les plus récentes": "The 200 latest entries",
    "Événement": "Event",
    "Acteur": "Actor",
    "Sujet": "Subject",
    "Données": "Data",
    "Opération": "Operation",
    "fraude suspectée": "suspected fraud",
    "Ce que l’appareil a affiché et signé": "What the device showed and signed",
    "L’opération complète (JSON canonique signé)": "The whole operation (signed canonical JSON)",
    "Décisions signées par l’appareil": "Decisions signed by the device",
    "Approbation et signatures": "Approval and signatures",
    "Aucune décision de l’appareil (expirée, annulée ou en attente).": (
        "No decision from the device (expired, cancelled or pending)."
    ),
    "Résultat signé (JWS)": "Signed result (JWS)",
    "Signature vérifiée avec la clé publiée du serveur (JWKS).": (
        "Signature verified with the server’s published key (JWKS)."
    ),
    "La signature ne se vérifie pas :": "The signature does not verify:",
    "En-tête": "Header",
    "Contenu": "Payload",
    "Le JWS compact": "The compact JWS",
    "Pas encore de résultat : l’opération est en attente.": (
        "No result yet: the operation is pending."
    ),
    "Faits": "Facts",
    "Créée le": "Created on",
    "Expire le": "Expires on",
    "Décidée le": "Decided on",
    "Empreinte": "Digest",
    "Preuve pour un litige": "Evidence for a dispute",
    "Un fichier unique : l’opération, chaque approbation, le JWS du résultat, les entrées du "
    "journal d’audit qui la concernent et le point de contrôle signé qui les couvre. "
    "Vérifiable hors ligne avec la seule clé publique des points de contrôle.": (
        "One file: the operation, every approval, the result JWS, the audit entries about it and "
        "the signed checkpoint that covers them. Verifiable offline with the checkpoint public "
        "key alone."
    ),
    "Exporter la preuve": "Export the evidence",
    "Utilisateur": "User",
    "Demandée par": "Requested by",
    "Aucune opération pour l’instant.": "No operation yet.",
    "langue": "language",
    "« Ce n’est pas moi » signalé le": "“This wasn’t me” reported on",
    "Appareils de": "Devices of",
    "Compteur": "Counter",
    "Échecs": "Failures",
    "Blocages": "Locks",
    "Débloquer": "Unlock",
    "Motif": "Reason",
    "Demande du client": "Customer’s request",
    "Identité vérifiée par": "Identity checked by",
    "Rappel au numéro enregistré et questions de sécurité": (
        "Call back on the registered number and security questions"
    ),
    "Pièce d’identité vérifiée en agence": "ID document checked in a branch",
    "Visioconférence avec pièce d’identité": "Video call with an ID document",
    "Révoquer": "Revoke",
    "Aucun appareil.": "No device.",
    # Errors.
    "Page introuvable": "Page not found",
    "Connexion nécessaire": "Sign-in needed",
    "Formulaire refusé": "Form refused",
    "Une erreur est survenue": "Something went wrong",
    "Connectez-vous à Ma Banque": "Sign in to Ma Banque",
    "Session expirée ou formulaire venu d’un autre site : rechargez la page et recommencez.": (
        "Session expired or form from another site: reload the page and start again."
    ),
    "Cette page n’existe pas, ou elle ne vous concerne pas.": (
        "This page does not exist, or it is not yours."
    ),
    "La démo a rencontré un problème. Réessayez ; le terminal de la démo en dit plus.": (
        "The demo ran into a problem. Try again; the demo’s terminal says more."
    ),
    "Retour à l’accueil de la démo": "Back to the demo’s home",
    # Company (Sceau Pro).
    "Ma Banque — Espace entreprise": "Ma Banque — Business space",
    "Espace entreprise": "Business space",
    "Connexion à l’espace entreprise": "Sign in to the business space",
    "Atelier Dupont SARL": "Atelier Dupont SARL",
    "Chaque membre de l’entreprise a son identifiant, son téléphone et son code Sceau : "
    "rien n’est partagé. La connexion se valide sur votre téléphone.": (
        "Each member of the company has their own identifier, phone and Sceau code: nothing "
        "is shared. The sign-in is approved on your phone."
    ),
    "Identifiants de la démo : claire, bruno et ines ; leurs mots de passe et codes sont "
    "affichés dans le terminal.": (
        "Demo identifiers: claire, bruno and ines; their passwords and codes are printed in "
        "the terminal."
    ),
    "Espace particuliers": "Personal banking",
    "Téléphone de": "Phone of",
    "Voir les lignes une à une": "See the lines one by one",
    "Connecté :": "Signed in:",
    "Devise": "Currency",
    "Règle de validation": "Approval rule",
    "deux validateurs distincts pour chaque opération": (
        "two distinct validators for each operation"
    ),
    "Membres et droits sur ce compte": "Members and rights on this account",
    "Membre": "Member",
    "Rôle": "Role",
    "Droits": "Rights",
    "administratrice": "administrator",
    "Gérante": "Manager",
    "Directeur financier": "Finance director",
    "Comptable": "Accountant",
    "Importer un lot": "Import a batch",
    "Le fichier SEPA préparé pour la démo : 50 virements fournisseurs (pain.001). La "
    "banque l’envoie à Sceau, qui le vérifie ligne à ligne ; chaque validateur le signe "
    "ensuite sur son propre téléphone.": (
        "The SEPA file prepared for the demo: 50 supplier transfers (pain.001). The bank "
        "sends it to Sceau, which checks it line by line; each validator then signs it on "
        "their own phone."
    ),
    "Fichier :": "File:",
    "Importer le lot de 50 virements": "Import the batch of 50 transfers",
    "Vos droits sur ce compte ne permettent pas d’importer des virements.": (
        "Your rights on this account do not allow importing transfers."
    ),
    "Lots de virements": "Transfer batches",
    "Importé le": "Imported on",
    "Lot": "Batch",
    "Montant total": "Total amount",
    "Signatures": "Signatures",
    "virements": "transfers",
    "Aucun lot importé pour l’instant.": "No batch imported yet.",
    "Entreprises": "Companies",
    "Membres": "Members",
    "Identifiant Sceau": "Sceau identifier",
    "Administrateur": "Administrator",
    "oui": "yes",
    "non": "no",
    "Règle :": "Rule:",
    "au-delà de": "above",
    "validateur(s) distinct(s)": "distinct validator(s)",
    "pour un lot": "for a batch",
    "Droits sur ce compte": "Rights on this account",
    "Opérations sur ce compte": "Operations on this account",
    "Signataires": "Signatories",
    "lignes": "lines",
    "Aucune opération sur ce compte pour l’instant.": "No operation on this account yet.",
    "Aucune entreprise pour l’instant.": "No company yet.",
    "Lot de virements": "Transfer batch",
    "En attente des signatures des validateurs, chacun sur son téléphone.": (
        "Waiting for the validators’ signatures, each on their own phone."
    ),
    "Lot signé par": "Batch signed by",
    " et ": " and ",
    "Les virements partent : la banque a vérifié le résultat signé par Sceau.": (
        "The transfers are sent: the bank verified the result signed by Sceau."
    ),
    "Rien n’a été fait.": "Nothing was done.",
    "a signé": "signed",
    "a refusé": "declined",
    "Aucune signature pour l’instant.": "No signature yet.",
    "Validateurs de ce compte :": "Validators of this account:",
    "téléphone de": "phone of",
    "Signataires (membres)": "Signatories (members)",
    "Retour à l’espace entreprise": "Back to the business space",
    "Ce que chaque validateur signe": "What each validator signs",
    "Nombre de virements": "Number of transfers",
    "Référence du fichier": "File reference",
    "Chaque signature porte sur le total, le nombre et l’empreinte de toutes les lignes : "
    "une seule ligne modifiée invaliderait toutes les signatures.": (
        "Each signature covers the total, the count and the digest of every line: a single "
        "changed line would invalidate every signature."
    ),
    "Lignes du lot": "Lines of the batch",
    "Vous n’avez pas le droit de validation sur ce compte : ce lot ne vous est pas présenté.": (
        "You do not have the validate right on this account: this batch is not shown to you."
    ),
    "Virements groupés": "Batch transfer",
    "Compte débité": "Debited account",
    "Toutes les lignes ont été vérifiées par l’appareil : leur nombre, leur total et leur "
    "empreinte sont ceux que votre banque a signés.": (
        "Every line was checked by the device: their count, total and digest are those your "
        "bank signed."
    ),
    "Lignes": "Lines",
    "à": "to",
    "sur": "of",
    "Lignes précédentes": "Previous lines",
    "Page": "Page",
    "Lignes suivantes": "Next lines",
    "Retour à l’opération": "Back to the operation",
    "Pages des lignes": "Pages of lines",
    # The kinds of SMS on the SMS page.
    "Code de confirmation": "Confirmation code",
    "Nouvel appareil": "New device",
    "Échec de validation": "Failed approval",
    "Blocage temporaire": "Temporary lock",
    "Avertissement avant blocage": "Warning before the block",
    "Blocage définitif": "Permanent block",
    "Appareil suspendu": "Device suspended",
    "Déblocage": "Unlocked",
    "Code modifié": "Code changed",
    "Appareil en attente": "Device on hold",
    "Appareil annulé": "Device cancelled",
    "Appareil retiré": "Device removed",
    "Appareil révoqué": "Device revoked",
    "Attente levée": "Hold released",
    "Code de réinitialisation": "Reset code",
    "Code réinitialisé": "Code reset",
    "Réinitialisation refusée": "Reset refused",
    "Biométrie activée": "Biometrics enabled",
    "Biométrie désactivée": "Biometrics disabled",
    "Numéro modifié": "Phone number changed",
}
