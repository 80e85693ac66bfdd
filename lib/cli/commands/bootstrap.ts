import { Command, notYet } from '../command';

export const bootstrap: Command = notYet('bootstrap');
