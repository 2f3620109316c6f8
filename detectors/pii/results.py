"""The one way our recognizers make a presidio result."""

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult


def recognizer_result(recognizer: LocalRecognizer, entity: str, start: int, end: int,
                      score: float) -> RecognizerResult:
    """A result as presidio's own recognizers make it (context enhancement writes to its
    explanation)."""
    return RecognizerResult(
        entity, start, end, score,
        analysis_explanation=AnalysisExplanation(recognizer=recognizer.name, original_score=score),
        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                              RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})
