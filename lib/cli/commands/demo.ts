import { Command, notYet } from '../command';

export const demo: Command = notYet('demo');
