/** One edit block of a reply that did not apply, and why (the text goes back to the model). */
export interface BlockFailure {
  /** 1-based position of the block in the reply; 0 where the message names it (a whole file, the agent's single edit). */
  block: number;
  path: string;
  message: string;
}

/**
 * An edit the model asked for that cannot be applied, in any edit format (SEARCH/REPLACE, whole
 * file, the agent's apply_edit). Its message is written for the model: the coder loop sends it back.
 * `failures` lists the blocks behind it when it is about blocks.
 */
export class EditError extends Error {
  constructor(
    message: string,
    readonly failures: BlockFailure[] = [],
  ) {
    super(message);
    this.name = 'EditError';
  }
}
