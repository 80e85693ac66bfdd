import { Command, notYet } from '../command';

export const checkpoint: Command = notYet('checkpoint');
