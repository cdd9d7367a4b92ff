/** RFC 9110 §5.5 field values, checked before a string is put into a header. */

// field-value = *field-content; field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ],
// field-vchar = VCHAR / obs-text. No controls (Node refuses them with ERR_INVALID_CHAR) and no
// whitespace at either end (web `Headers` trims it, so the value sent would differ from the one given).
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** Whether `value` goes into a header byte for byte (Latin-1 "binary strings" included). */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

const OWS_ENDS = /^[ \t]+|[ \t]+$/g;

/** `value` without the spaces and tabs at its ends, as recipients (and `Headers`) read it. */
export function trimFieldValue(value: string): string {
  return value.replace(OWS_ENDS, '');
}
