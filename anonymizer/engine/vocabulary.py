"""What the detector may call harmless: words, eponyms, acronyms, units and scales (data only).

The English common words are Debian's ``wamerican`` list (``/usr/share/dict/american-english``,
installed by ``.ci/run`` and the Dockerfile): only its lowercase entries count, because its
capitalised entries are proper nouns (given names, surnames, places). Everything else here
is written by hand. A word missing from these lists is flagged, never passed: a smaller
vocabulary costs the champion releases, not patients' names.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

WORD_LIST_PATHS = (
    Path(os.environ.get("DETECTOR_WORD_LIST", "/usr/share/dict/american-english")),
    Path("/usr/share/dict/words"),
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lowercase entries of the system word list; empty when it is not installed."""
    for path in WORD_LIST_PATHS:
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            return frozenset(w for w in (line.strip() for line in lines) if w and w.islower())
    return frozenset()


def word_list_installed() -> bool:
    return bool(english_words())


# Radiology words, in English and the other languages of our notes, lowercase.
MEDICAL_WORDS = _words(
    """
    abdomen abdominal abscess acetabulum adenocarcinoma adenoma adenopathy adnexa adnexal adrenal
    airspace alveolar aneurysm angiography angiogram anterior aorta aortic apex apical appendicitis
    appendix arterial arteritis artery arthritis ascites aspiration atelectasis atherosclerosis
    atrophy attenuation avulsion axial axilla axillary basal benign bilateral biliary biopsy bladder
    bowel brainstem bronchial bronchiectasis bronchus bulla bursa calcification calcifications
    calcified calculus calyx cardiomegaly carotid cartilage caudal caudate cavity cecum cerebellar
    cerebellum cerebral cervical chest cholecystitis chronic cirrhosis clavicle coarsened colitis
    colon colonic comminuted compression consolidation contrast convexity coronal cortex cortical
    cranial craniotomy cyst cystic cysts decompression degenerative diaphragm diffuse diffusion
    dilatation dilation disc discectomy dissection distal diverticulitis diverticulum diverticulosis
    duct ductal duodenum dural dysphagia echogenic edema effusion embolism embolus emphysema
    encephalopathy endometrial endometrium enhancement enhancing enteritis enterography epidural
    epiphysis esophageal esophagus extraluminal extravasation femoral femur fibrosis fibula fistula
    fluid focal foramen fossa fracture fractures frontal fusiform gallbladder gallstone ganglia
    gastric glioblastoma glioma hamartoma hemangioma hematoma hematuria hemorrhage hemorrhagic
    hepatic hernia hiatal hilar hilum hip humerus hydrocephalus hydronephrosis hyperdense
    hyperenhancement hyperintense hyperintensity hypodense hypoenhancing hypointense ileal ileitis
    ileum ileus iliac impression indication infarct infarction inferior inflammatory infrarenal
    inguinal intracranial intraparenchymal intraventricular intussusception ischemia ischemic
    jejunum kidney kyphosis labrum laceration lacunar laminectomy laryngeal lateral lesion lesions
    ligament lipoma liver lobar lobe lobes lumbar lung lungs lymph lymphadenopathy lymphoma
    malignancy malignant mammography mandible mass medial mediastinal mediastinum medulla
    melanoma meningioma meniscus mesenteric metastases metastasis metastatic microvascular midline
    mild moderate mural myelopathy myocardial necrosis neoplasm nephrographic nephrolithiasis
    nodular nodule nodules nonenhancing occipital occlusion oncocytoma opacity orbit orbital
    osteomyelitis osteopenia osteophyte osteoporosis ovarian ovary pancreas pancreatic
    pancreatitis parenchyma parenchymal parietal patella pelvic pelvis perfusion pericardial
    perihilar periventricular peritoneal pleural pneumomediastinum pneumonia pneumothorax polyp
    posterior postoperative prostate proximal pseudoaneurysm pulmonary pyelonephritis radial
    radiograph radius rectal rectum recurrence renal retroperitoneal rib ribs rotator sacral
    sacrum sagittal sarcoma scapula schwannoma sclerosis sclerotic scoliosis segmental seminal
    septal septum sigmoid sinus sinusitis spiculated spinal spine splenic splenomegaly spleen
    spondylolisthesis spondylosis stenosis sternum stranding subarachnoid subcapital subchondral
    subclavian subcutaneous subdural subluxation superior supraspinatus syrinx temporal tendon
    tendinosis thalami thalamus thickening thoracic thorax thrombosis thrombus thymus thyroid tibia
    tibial tomography trabeculae trachea transverse trauma tumor tumour ulna ultrasound ureter
    ureteral ureterovesical urethra uterine uterus vascular vasogenic venous ventricle ventricles
    ventricular vertebra vertebrae vertebral vesicle washout
    neuro neuroradiology radiology neuroimaging musculoskeletal msk interventional pediatric
    paediatric mammography cardiothoracic genitourinary gastrointestinal peer conference
    dyspnoea dyspnea haemorrhage haematoma oedema oesophagus oesophageal anaemia paediatric
    findings technique comparison history clinical conclusion recommendation recommendations
    addendum teaching learning conference agenda description improvement action answer question
    references reference impression indication protocol

    befund beurteilung anamnese fragestellung technik vorbefund empfehlung untersuchung
    aufnahme verlauf verlaufskontrolle kontrolle keine kein ohne mit und oder der die das des
    den dem ein eine einer rechts links rechten linken im am vom zum zur nach bei seit bis von
    patient patientin arzt ärztin kontrastmittel raumforderung fraktur blutung infarkt
    compte rendu résultat résultats conclusion examen indication technique avis dossier scanner
    irm échographie radiographie et ou le la les un une des du de au aux avec sans droit droite
    gauche présentation suivi
    informe hallazgos conclusión impresión estudio técnica paciente el los las y o con sin del
    derecho derecha izquierdo izquierda caso historia
    rapor bulgular sonuç hasta olgu sunumu tetkik ve ile sağ sol
    kontakt verdacht uhr jahre jahren tel fall fall-nr zuweiser zuweisung überweisender
    empfehlung patientin angehörige contact callback enteroenteric protokol protokoll
    """
)

# Endings of medical words and of German nouns: a capitalised word of eight letters or more
# that ends so is a term, not a name ("Schenkelhalsfraktur", "Lymphknotenvergrößerung").
TERM_ENDINGS = tuple(
    _words(
        """
        itis osis ose ektomie ectomy tomie tomy plastik plasty graphie graphy grafía grafie
        skopie scopy pathie pathy algie algia ämie emia ome oma omas karzinom fraktur prothese
        lappen ung ungen keit heit schaft logie logy ismus ism
        """
    )
)

# Capitalised words that are no one's name: eponyms, scales, titles, brands, modalities.
SAFE_CAPITALISED = _words(
    """
    addison alzheimer arnold asperger barrett bankart behçet behcet boerhaave bosniak bouchard
    brodie budd caffey chiari chilaiditi colles conn crohn cushing dandy dawson doppler dubin
    duchenne dupuytren ebstein ehlers erdheim essex eustachian ewing fallot fazekas foley
    galeazzi gaucher gerota gleason glasgow guillain hampton hashimoto heberden hirschsprung
    hodgkin horner hounsfield huntington jefferson kaposi kawasaki kerley kienböck kienbock
    killian klatskin kocher krukenberg legg lisfranc lopresti lindau luschka mackler maisonneuve
    mallory marfan meckel menetrier ménétrier meniere ménière mirizzi monteggia morgagni morton
    moyamoya osgood paget pancoast parkinson perthes peyronie pott raynaud reiter riedel rolando
    salter sachs schatzki scheuermann schlatter schmorl segond sinding sjögren sjogren stanford
    sturge swan ganz takayasu tillaux tourette treitz virchow von hippel waldenström wegener
    wernicke westermark whipple wilms zenker zollinger ellison bechterew graf hess spetzler mri
    ann arbor deauville bi-rads lung-rads li-rads pi-rads ti-rads o-rads aspects tici nihss gcs
    recist suv mrn ssn dob uid id ids tel fax nr no acc accn ext pager callback email e-mail url
    ip dr dr. drs dra dra. prof prof. pr mr mr. mrs mrs. ms ms. mx miss mme mlle herr frau sr
    sra md phd monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december english german french spanish
    turkish japanese chinese latin ct mr pet spect us cta mra mrcp ercp dwi adc swi flair stir
    dce dsa ivc svc cbd ge acl pcl mcl lcl mca aca pca ica mcp pip dip tmj ra oa ms als copd chf
    cad ckd aki htn dm hiv hcc rcc ed icu or er pacs ris cme acr abr oppe ap pa dlp ctdi kv kvp
    mas ml mg kg mm cm hu iv po hla brca ca cea psa afp esr crp wbc bun inr ptt ldh alt ast tsh
    ecg ekg cxr kub mdp fdg rv lv la drujs druj tfcc ttp asa mip mpr vr abvd rituximab tamoxifen
    iohexol iopamidol gadobutrol gadoterate heparin warfarin apixaban rivaroxaban aspirin
    metformin insulin omnipaque visipaque gadavist dotarem
    """
)

# Eponyms that are also common surnames: harmless only before a word that makes them one.
AMBIGUOUS_EPONYMS = _words(
    """
    baker barton bell bennett chance cooper denis fisher garden graves harris hill hunt jones
    martin smith todd turner weber wilson
    """
)
EPONYM_NOUNS = _words(
    """
    fracture fractures syndrome disease sign classification cyst cysts lesion tumor tumour grade
    score scale type criteria hernia palsy lines line node nodes procedure operation
    stage deformity injury angle
    """
)

# Unit words that make a number a measurement (compared lowercase).
UNITS = _words(
    """
    mm cm m km µm um nm ml ml. l dl µl ul cc mg g kg µg ug mcg ng mmol mol meq iu u u/l
    iu/l mg/dl mg/l g/dl ng/ml pg/ml µg/l mmol/l mmol/kg mg/kg ml/kg ml/min ml/s mgy mgy·cm
    mgy*cm msv gy sv hu t mhz khz hz kv kvp ma mas bpm mmhg cmh2o s sec secs second seconds ms min
    mins minute minutes h hr hrs hour hours d day days wk wks week weeks mo month months yr
    years year % x fold french fr g/l mm/h mm/hr degrees ° °c cps mbq mci kbq slices
    jahre tage wochen monate ans jours semaines mois años días semanas meses gün hafta ay yıl
    """
)

# Words after which a small number is a score, grade or part of the body, not an identifier.
SCALE_WORDS = _words(
    """
    grade stage type class level score scale ratio index phase segment segments series image
    images slice slices sequence echo bi-rads lung-rads li-rads pi-rads ti-rads o-rads aspects
    fazekas deauville gleason fisher garden bosniak hunt hess tici nihss gcs mrs spetzler suv max
    z-score t-score stufe grad typ klasse score grado tipo estadio derece evre rib ribs cranial
    nerve vertebra zone weeks days cycles cycle lesions nodules gravida para apgar
    """
)

# Kinship and role words: the name-like word beside one is a person's name.
PERSON_WORDS = _words(
    """
    wife husband son daughter mother father brother sister nephew niece grandson granddaughter
    grandmother grandfather aunt uncle cousin partner fiancé fiancée carer caregiver guardian
    friend neighbour neighbor daughter-in-law son-in-law stepson stepdaughter spouse family
    nurse technologist tech fellow resident intern attending gp surgeon radiologist
    ehemann ehefrau tochter sohn enkel enkelin schwester bruder mutter vater angehörige
    femme mari fils fille frère sœur soeur petit-fils petite-fille interne épouse époux
    esposo esposa marido hijo hija nieto nieta hermano hermana madre padre
    oğlu kızı eşi annesi babası kardeşi torunu
    patient patientin paciente hasta
    """
)

# Titles before a name (lowercase, without the full stop).
TITLES = _words(
    """
    dr drs dra doctor doktor prof professor pr mr mrs ms mx miss mme mlle madame monsieur herr frau
    sr sra srta don doña dott sig sir dame
    """
)

# Words that join the parts of a name or an institution ("Centre Hospitalier de Roubaix").
NAME_PARTICLES = _words("de du des la le van von der den di da del dos das y of am bin ibn al el")

# Words that end a name after a title: function words of the languages in our notes.
STOP_WORDS = _words(
    """
    a an and are as at be but by for from had has have he her his in into is it its of on or our
    she that the their then they this to was were who will with
    und der die das mit von zu im am et le la les de du des y el los con en ve ile
    called consulted discussed notified informed reviewed reported read signed dictated agreed
    """
)

# Spelled-out ages of 90 and over (lowercase), per language.
AGE_WORDS_PATTERN = (
    r"(?:ninety|one\s+hundred|a\s+hundred|hundred)(?:[\s-]+(?:and[\s-]+)?"
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|\w+teen|twenty|thirty|forty))*"
    r"|nonagenarian|centenarian|supercentenarian"
    r"|(?:ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)?und?neunzig|neunzig|hundert\w*"
    r"|quatre[\s-]vingt[\s-](?:dix|onze|douze|treize|quatorze|quinze|seize|dix[\s-]\w+)"
    r"|nonante(?:[\s-]\w+)?|centenaire|cent(?:[\s-]\w+)?\s+ans"
    r"|noventa(?:\s+y\s+\w+)?|cien|ciento(?:\s+\w+)?|centenari[oa]"
    r"|doksan(?:\s+\w+)?|yüz(?:\s+\w+)?\s+yaş\w*"
)
