// Older majors installed under npm aliases for the conformance suite share the current typings.
declare module 'express4' {
  import express from 'express'
  export default express
}

declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
