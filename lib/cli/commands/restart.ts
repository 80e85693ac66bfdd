import { Command, notYet } from '../command';

export const restart: Command = notYet('restart');
