import Root, { alertVariants, type AlertVariant } from './alert.svelte';
import Description from './alert-description.svelte';
import Title from './alert-title.svelte';

export {
  Root,
  Description,
  Title,
  alertVariants,
  type AlertVariant,
  Root as Alert,
  Description as AlertDescription,
  Title as AlertTitle,
};
