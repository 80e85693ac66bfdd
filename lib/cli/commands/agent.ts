import { Command, notYet } from '../command';

export const agent: Command = notYet('agent');
