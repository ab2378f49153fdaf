import Root, {
  buttonVariants,
  type ButtonProps,
  type ButtonSize,
  type ButtonVariant,
} from './button.svelte';

export {
  Root,
  buttonVariants,
  type ButtonProps as Props,
  Root as Button,
  type ButtonProps,
  type ButtonSize,
  type ButtonVariant,
};
