"""Word lists shared by the scrubber and the verifier (data only, no logic).

COMMON_WORDS are English and clinical words that are also surnames or given names. A
known name that is one of them is matched only when it is written with a capital
("White", "WHITE"), so "white matter" survives a patient called White.
"""


def _words(text: str) -> list[str]:
    return text.split()


COMMON_WORDS = frozenset(
    _words(
        """
    able ace acute all bacon baker bank banks barber bass bell berry best bill bird birds
    black blank bliss bloom blue bone bones booth bottom bowen brand bright brook brooks brown
    bush butcher butler cage cane cannon card carter case cash chance chase child church clay
    clear cliff coke cole collar colon cook cooper core cross crown cruz cup dale dark dash day
    dean dell diamond dove down drake drew duke dunn dye early east eve fair faith farmer field
    fields finch fish fisher fleming ford forest fort fox frank free fry fuller gale garden gay
    glass glen gold golden good grace grant gray grey green guest hale hall hand hardy harper
    hart head heart hill hills holly holmes hood hope horn house hunt hunter iris irving ivy
    jack joy judge july june just keen king knight lamb lane large law lee lime little long
    love low major mark marks marsh mason may meadow merry miles mill miller mills moon moore
    morning moss nash new newman noble north oak oakes page palmer park parker parks pearl pepper
    person pike pink pitt pool poole pope porter post pound power powers price pride prince
    rain ray read reed rice rich rider ring rivers road rock rose ross row rush sage sale salt
    sands savage say scott shaw sharp short silver sky slater small smart snow south sparks
    spear spring stamp star steel stone storm street strong summer summers swan sweet taylor
    temple thin tiny todd towers trim troy tucker turner vale van vine wade walker wall walls
    ward ware warren water waters way weaver webb well wells west white wide wild will wills
    win wing winter wise wolf wood woods worth wren wright young
    """
    )
)

# Words that end a run of capitalised words after a title ("DR SMITH REVIEWED THE STUDY").
STOP_WORDS = frozenset(
    _words(
        """
    a about above after again against all also am an and any are as at be been before being
    below between both but by can could did do does doing done during each few for from had
    has have having he her here hers him his how i if in into is it its me more most my no nor
    not of off on once only or other our out over own same she should so some such than that
    the their them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your
    called consulted discussed notified informed reviewed reported read signed dictated agreed
    agrees aware confirmed recommends recommended states stated says said per was re cc
    """
    )
)
