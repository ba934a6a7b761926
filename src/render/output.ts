// What render writes: pieces of the input copied as they are, and new text where
// documents changed. The CLI writes the copied pieces from the input's bytes, so a
// document that passes through is never re-encoded (nor re-serialised). Pure.

export type Piece = { start: number; end: number } | string;

export class Output {
  readonly pieces: Piece[] = [];
  private joined: string | undefined;
  readonly input: string;
  constructor(input: string) {
    this.input = input;
  }

  /** Copies input[start, end). */
  copy(start: number, end: number): void {
    if (end <= start) return;
    const last = this.pieces.at(-1);
    if (last !== undefined && typeof last !== 'string' && last.end === start) last.end = end;
    else this.pieces.push({ start, end });
    this.joined = undefined;
  }

  insert(text: string): void {
    if (text !== '') this.pieces.push(text);
    this.joined = undefined;
  }

  /** The whole output as one string. */
  get text(): string {
    this.joined ??= this.pieces.map((p) => (typeof p === 'string' ? p : this.input.slice(p.start, p.end))).join('');
    return this.joined;
  }

  /** True when the output is the input, unchanged. */
  get unchanged(): boolean {
    const only = this.pieces[0];
    if (only === undefined) return this.input === '';
    return this.pieces.length === 1 && typeof only !== 'string' && only.start === 0 && only.end === this.input.length;
  }
}
