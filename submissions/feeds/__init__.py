"""Results from the hospital's reporting system (HL7 v2 ORU over MLLP, FHIR DiagnosticReport).

A result closes the pending addendum actions of its accession and may become a suggestion
("this may be worth sharing") for the radiologist who signed it. Parsing (`hl7`, `fhir`) turns a
message into a `ResultReport`; `services` stores it first and then applies it.
"""
